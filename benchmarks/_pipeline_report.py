"""The pipeline benchmark's Markdown: results, per-stage latency, per-process memory and CPU, the targets."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from benchmarks._pipeline_ceiling import ceiling_lines, floor_lines, ledger_lines
from benchmarks._pipeline_measure import STAGES, percentiles
from benchmarks._pipeline_procs import Sampler

if TYPE_CHECKING:
    from benchmarks.pipeline import PipelineRun

NONE = "n/a"
TARGET_RATE = 1000.0  # leads/s end to end on a 2-core machine (issue 9)
TARGET_MB = 200.0  # peak memory of every service (RSS, or PSS summed over a service with a worker process)
INTRO = """## Pipeline

The whole stack on one machine, as `coldstream demo` runs it: nats-server (`sync_interval: always`), embedded
Postgres and the five services as separate processes. External APIs are replaced by the offline defaults, which
cost nothing: template writer, file outbox backend (fsync'd `.eml` files), syntax-only enrichment. The example
campaign (`examples/campaign.yaml`, approvals auto) runs over {leads:,} distinct people at distinct companies; the
benchmark publishes `campaign.started` and waits until every lead's first touch is terminal.

Every time below is a JetStream timestamp (when the server stored the event), joined per lead: a stage's latency
is queueing + handling + the downstream event's publish. Memory is the peak RSS (PSS summed over a process with
children) polled every 0.25 s (Postgres's, costly to read, every 2 s); CPU is user + system seconds between
`campaign.started` and completion. As a yardstick that survives a noisy machine, the same nats-server first runs
plain JetStream with 1 KB messages on a throwaway stream configured like ours (publish with acks one at a time,
then concurrently; pull consumer with explicit acks).

Reproduce: `make bench BENCH=pipeline` (`COLDSTREAM_BENCH_LEADS=5000` for more leads, default 2,000;
`COLDSTREAM_BENCH_TIMEOUT` in seconds)."""


def _n(value: float | None, digits: int = 1, unit: str = "") -> str:
    return NONE if value is None else f"{value:,.{digits}f}{unit}"


def _ms(seconds: float | None) -> str:
    return NONE if seconds is None else f"{seconds * 1000:,.0f} ms"


def _results(run: PipelineRun) -> list[str]:
    j, raw, f = run.journeys, run.raw, run.funnel
    sustained = j.sustained_rate() if j else None
    outcome = "complete"
    if not run.complete:
        outcome = f"**incomplete** (timeout {run.timeout:.0f} s; stream figures include events stored until read)"
    rows = [
        ("outcome", f"{outcome}: {f.get('sent', 0):,} of {f.get('leads', 0):,} leads sent"),
        (
            "funnel",
            ", ".join(
                f"{key.replace('_', ' ')} {f.get(key, 0) or 0:,}"
                for key in ("rows_read", "scraped", "verified", "generated", "sent", "held", "suppressed", "failed")
            )
            + f", rejected {sum(f.get(k, 0) or 0 for k in f if k.startswith('rejected_')):,}"
            + f", dead-lettered {f.get('dead_lettered', 0):,}",
        ),
        ("stack start-up (NATS, Postgres, migrations, 5 services)", _n(run.startup_s, unit=" s")),
        ("campaign wall time (publish → funnel complete)", _n(run.campaign_s, unit=" s")),
        ("total wall time (start-up + yardstick + campaign)", _n(run.total_s, unit=" s")),
        ("**sustained** (campaign.started → last email.sent)", f"**{_n(sustained)} leads/s**"),
        ("steady state (10th → 90th percentile email.sent)", f"{_n(j.steady_rate() if j else None)} leads/s"),
    ]
    if raw:
        ratio = None if sustained is None else sustained / raw.round_trip
        rows += [
            (f"raw JetStream: publish, one by one ({raw.messages:,} msgs)", f"{_n(raw.publish_sequential, 0)} msgs/s"),
            (f"raw JetStream: publish concurrently ({raw.messages:,} msgs)", f"{_n(raw.publish_concurrent, 0)} msgs/s"),
            ("raw JetStream: consume (pull, explicit ack)", f"{_n(raw.consume, 0)} msgs/s"),
            ("raw JetStream: round trip, 1/(1/publish + 1/consume)", f"{_n(raw.round_trip, 0)} msgs/s"),
            ("**pipeline ÷ raw round trip** (sustained leads/s per msg/s)", f"**{_n(ratio, 4)}**"),
        ]
    return ["| figure | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]


def _stages(run: PipelineRun) -> list[str]:
    j = run.journeys
    if j is None:
        return ["_No stream timestamps were read._"]
    lines = [
        "| stage | leads | p50 | p95 | p99 | output events/s (first → last) |",
        "|---|---|---|---|---|---|",
    ]
    for label, _before, after in STAGES:
        values = j.latencies.get(label, [])
        p = percentiles(values)
        count, rate = j.subject_rate(after)
        lines.append(
            f"| {label} | {len(values):,} | {_ms(p.get('p50'))} | {_ms(p.get('p95'))} | {_ms(p.get('p99'))} "
            f"| {_n(rate)} ({count:,} {after}) |"
        )
    return lines


def _processes(run: PipelineRun) -> tuple[list[str], str]:
    usage = run.usage
    if usage is None:
        return ["_No process figures._"], NONE
    names = [*run.services, "nats-server", "postgres", Sampler.HARNESS]
    cpu = {name: usage.cpu_during(name) for name in names}
    total = sum(v for v in cpu.values() if v)
    sent = run.funnel.get("sent") or 0
    lines = [
        "| process | peak memory | CPU s (campaign) | share | CPU ms per lead sent |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        seconds = cpu[name]
        share = None if not seconds or not total else 100 * seconds / total
        per_lead = None if seconds is None or not sent else seconds / sent
        label = f"{name} (PSS summed over its processes)" if name in usage.trees else name
        lines.append(
            f"| {label} | {_n(usage.peak_mb.get(name), 0, ' MB')} | {_n(seconds)} | {_n(share, 0, ' %')} "
            f"| {_n(None if per_lead is None else per_lead * 1000, 1, ' ms')} |"
        )
    ranked = sorted(((v or 0, k) for k, v in cpu.items()), reverse=True)
    busy = None if not run.campaign_s else total / run.campaign_s
    cores = os.cpu_count() or 1
    where = (
        f"{total:,.0f} CPU s over {run.campaign_s or 0:,.0f} s of campaign ({_n(busy)} of {cores} cores busy); "
        "most in " + ", ".join(f"{k} {100 * v / total:.0f} %" for v, k in ranked[:3] if total)
    )
    load = run.load_average
    if load is not None:
        where += f"; machine load average {load:.1f} at the end"
    if busy is not None and load is not None and busy < 0.6 * cores and load < cores:
        # Cores left idle while leads queue: the time goes to waiting (fsync'd publishes, commits, round trips).
        where += ", so with cores idle the pipeline is bound by waiting, not by CPU"
    elif load is not None and load >= cores:
        where += " (other work shared the cores, so these CPU shares are ours but the wall times are inflated)"
    return lines, where


def _targets(run: PipelineRun) -> list[str]:
    sustained = run.journeys.sustained_rate() if run.journeys else None
    met_rate = sustained is not None and sustained >= TARGET_RATE and run.complete
    peaks = {n: run.usage.peak_mb.get(n, 0.0) for n in run.services} if run.usage else {}
    over = [f"{n} {mb:,.0f} MB" for n, mb in peaks.items() if mb >= TARGET_MB]
    met_mb = bool(peaks) and not over
    cores = os.cpu_count()
    return [
        "| target (issue 9) | measured | |",
        "|---|---|---|",
        f"| ≥ {TARGET_RATE:,.0f} leads/s end to end on a 2-core machine | {_n(sustained)} leads/s "
        f"({cores} cores here) | {'met' if met_rate else '**not met**'} |",
        f"| every service < {TARGET_MB:.0f} MB | largest {max(peaks.values(), default=0):,.0f} MB"
        f"{' (over: ' + ', '.join(over) + ')' if over else ''} | {'met' if met_mb else '**not met**'} |",
    ]


def render(run: PipelineRun) -> str:
    """The section for docs/benchmarks/pipeline.md."""
    process_lines, where = _processes(run)
    parts = [
        INTRO.format(leads=run.leads),
        "",
        *_results(run),
        "",
        "Per stage, per lead (first touch):",
        "",
        *_stages(run),
        "",
        "Per process (peak RSS of a lone process; for a process with children (postgres and its backends, "
        "discovery and its import worker) the proportional set size summed over them, so memory they share counts "
        "once; the harness publishes, watches the funnel and polls psutil):",
        "",
        *process_lines,
        "",
        f"Where the CPU goes: {where}.",
        "",
        *_targets(run),
        "",
        "### Per-lead accounting and the ceiling of this design",
        "",
        "What the campaign did per lead sent, counted by the servers (JetStream stream and consumer info, "
        "`pg_stat_database`, `pg_stat_statements` loaded for the benchmark, `pg_stat_wal`, `pg_stat_io`) between the "
        "same two moments as the CPU figures; with `COLDSTREAM_BENCH_SYSCALLS=1` also the kernel's (`perf stat` on "
        "syscall tracepoints per process tree: it adds about a third to every process's CPU, so it is off by "
        "default). `COLDSTREAM_BENCH_LEDGER=0` turns the counting off to compare:",
        "",
        *ledger_lines(run),
        "",
        "The same operations bare, on the same servers just before the campaign (client and server CPU per "
        "operation; `benchmarks/_pipeline_floor.py`):",
        "",
        *floor_lines(run),
        "",
        "The floor multiplies the two: the CPU a lead would cost if the services were nothing but these calls "
        "(no validation, rendering, tracing or framework), so no implementation of this design beats it on this "
        "machine:",
        "",
        *ceiling_lines(run),
    ]
    if run.problems:
        parts += ["", *(f"- {problem}" for problem in run.problems)]
    return "\n".join(parts) + "\n"
