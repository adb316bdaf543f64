"""The Markdown section for benchmarks/discovery.py: the figures of one run, and what they mean."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

FULL_SIZE = 100_000  # the target is for this many rows


@dataclass(frozen=True)
class Workload:
    rows: int
    known: int
    target_seconds: float
    planted: dict[str, int]


def report(
    workload: Workload,
    figures: dict[str, float],
    cpu: dict[str, float],
    c: dict[str, object],
    unpublished: int,
    stages: dict[str, float],
    in_import: dict[str, float],
    latencies: tuple[list[float], list[float], float, int],
    fsync_rate: float,
) -> str:
    rows, planted = workload.rows, workload.planted
    load_seconds, elapsed, peak_mb, rss_before = (figures[k] for k in ("load", "elapsed", "peak_mb", "rss_before"))
    batch, workers = int(figures["batch"]), int(figures["workers"])
    database, memory, build_seconds, known_size = latencies
    p50, p99 = statistics.median(database), statistics.quantiles(database, n=100)[98]
    m50, m99 = statistics.median(memory), statistics.quantiles(memory, n=100)[98]
    fast = elapsed <= workload.target_seconds
    verdict = "meets" if fast and peak_mb < 500 and min(p99, m99) < 1 else "misses"
    if rows != FULL_SIZE:
        verdict = f"cannot judge ({rows:,} rows, not {FULL_SIZE:,}):"
    stage_rows = "\n".join(f"| {name} | {seconds:.1f} s | {rows / seconds:,.0f} |" for name, seconds in stages.items())
    import_rows = "\n".join(
        f"| {name} | {seconds:.1f} s | {rows / seconds if seconds else 0:,.0f} |" for name, seconds in in_import.items()
    )
    cpu_rows = "\n".join(
        f"| {name} | {seconds:.1f} s | {seconds * 1e6 / rows:,.0f} µs |" for name, seconds in cpu.items()
    )
    worker = f"; its normalisation worker: {figures['worker_mb']:.0f} MB" if workers else " (no normalisation worker)"
    return f"""## Discovery

**Workload:** a {rows:,}-row CSV (11 columns, Apollo-style headers; planted: {planted["known"]:,} known contacts,
{planted["duplicates"]:,} exact duplicates, {planted["invalid"]:,} invalid addresses) imported by `ImportCampaign`
against {workload.known:,} known contacts in `discovery.contacts` (5% suppressed, 20% emailed in the last year;
loaded with COPY in {load_seconds:.1f} s, not counted), ICP with titles, seniority, industry, location and size.
Real Postgres and nats-server, the import built as the service builds it: batches of {batch} rows, each one
transaction (COPY of the outcomes and leads; one INSERT over arrays each for the exclusion log and organisations;
counters; outbox), its events published (pipelined) right after its commit while the next batch runs; rows
normalised, validated and scored one batch ahead by {workers} worker process(es); the heap settled after start-up
as the service does (`coldstream_shared.heap`).

Result: **{verdict}** the target (<= {workload.target_seconds:.0f} s, < 500 MB, lookup p99 < 1 ms).

| figure | value |
|---|---|
| end-to-end import (read, normalise, dedup, exclude, score, store, publish) \
| **{elapsed:.1f} s** ({rows / elapsed:,.0f} rows/s) |
| machine load (1-minute load average on 2 cores, at the start / end of the import) \
| {figures["load_before"]:.1f} / {figures["load_after"]:.1f} |
| garbage collection in the importing process during the import \
| {figures["gc_seconds"]:.1f} s ({int(figures["gc_full"])} full collections) |
| peak RSS | importing process {peak_mb:.0f} MB (before the import: {rss_before:.0f} MB){worker} |
| known-contact lookup, database (one address per query, 2,000 calls) | p50 {p50:.2f} ms, p99 {p99:.2f} ms |
| known-contact lookup, `KnownSet` snapshot ({known_size:,} addresses, built in {build_seconds:.1f} s) \
| p50 {m50 * 1000:.1f} µs, p99 {m99 * 1000:.1f} µs |
| outcomes | {c["published"]:,} published, {c["invalid"]:,} rejected, {c["duplicates"]:,} duplicates, \
{c["excluded"]:,} excluded ({c["cross_excluded"]:,} by history) |
| events left unpublished in the outbox after the import | {unpublished} |
| publish timeouts (each one a redelivery that resumed after the cursor) | {int(figures["redeliveries"])} |

CPU used during the import, per process (on a shared machine the elapsed time stretches with the load; the CPU
time does much less). The importing process's single event loop is what limits the import:

| process | CPU | per row |
|---|---|---|
{cpu_rows}

Rows/s per stage inside the import (wall time in each, measured around the functions; the worker's stage runs
beside the event loop, so only the loop's wait for it shows, and a batch publishes while the next one is worked
on, so the stages do not add up to the end-to-end time):

| stage | time | rows/s |
|---|---|---|
{import_rows}

Rows/s per pure stage, each run alone over the same file in one process:

| stage | time | rows/s |
|---|---|---|
{stage_rows}

**JetStream fsync.** The stack's nats-server fsyncs before acknowledging each message (`sync_interval: always`).
Measured here: {fsync_rate:,.0f} acknowledged publishes/s on one stream, so publishing {rows:,} lead events takes at
least {rows / fsync_rate:.0f} s with that setting, whatever discovery does. The import above therefore runs against
a nats-server with JetStream's default fsync policy; everything else (Postgres with the test settings, the outbox,
the publish of every event) is as in the service.

Reproduce: `.venv/bin/python -m benchmarks discovery` (`BENCH_DISCOVERY_ROWS` / `BENCH_DISCOVERY_KNOWN` for a
smaller run while working on it).
"""
