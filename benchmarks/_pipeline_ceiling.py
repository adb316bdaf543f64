"""The pipeline benchmark's accounting: what each lead cost (counted by the servers and the kernel), what the bare
operations cost on the same machine, and so the best leads/s this design can reach here."""

from __future__ import annotations

import os
from collections import Counter
from typing import TYPE_CHECKING

from benchmarks._pipeline_floor import STATEMENTS_PER_TRANSACTION, Cost

if TYPE_CHECKING:
    from benchmarks.pipeline import PipelineRun

NONE = "n/a"
TARGET_RATE = 1000.0  # leads/s (issue 9)
SYNCS = ("fsync", "fdatasync")
ROUND_TRIPS = ("write", "writev", "sendto", "sendmsg", "recvfrom", "read")


def _per(value: float, leads: int) -> str:
    return f"{value / leads:,.2f}" if leads else NONE


def _by_key(counts: Counter[str], leads: int, limit: int = 12) -> str:
    top = [(k, v) for k, v in counts.most_common() if v][:limit]
    return ", ".join(f"{k} {v / leads:,.2f}" for k, v in top) if leads and top else NONE


def _consumers(delivered: Counter[str]) -> Counter[str]:
    """Deliveries per consuming service (consumer names are `<service>--<subject>`)."""
    per: Counter[str] = Counter()
    for key, value in delivered.items():
        per[key.split("/", 1)[-1].split("--", 1)[0]] += value
    return per


def ledger_lines(run: PipelineRun) -> list[str]:
    led, leads = run.ledger, run.funnel.get("sent") or 0
    if led is None or not leads:
        return ["_No ledger: the servers' counters were not read (`COLDSTREAM_BENCH_LEDGER=0`, or a failure)._"]
    pg = led.postgres
    rows = [
        ("events stored in JetStream", sum(led.streams.values()), _by_key(led.streams, leads)),
        ("messages delivered to consumers", sum(led.delivered.values()), _by_key(_consumers(led.delivered), leads)),
        ("messages acknowledged (ack floor)", sum(led.acked.values()), _by_key(_consumers(led.acked), leads)),
        ("Postgres transactions committed", pg["pg xact_commit"], f"rolled back {_per(pg['pg xact_rollback'], leads)}"),
        ("SQL statements (pg_stat_statements)", sum(led.statements.values()), _by_key(led.statements, leads)),
        (
            "rows inserted / updated / deleted",
            pg["pg tup_inserted"] + pg["pg tup_updated"] + pg["pg tup_deleted"],
            f"inserted {_per(pg['pg tup_inserted'], leads)}, updated {_per(pg['pg tup_updated'], leads)}, "
            f"deleted {_per(pg['pg tup_deleted'], leads)}",
        ),
        ("WAL records", pg["pg wal_records"], f"{pg['pg wal_bytes'] / leads / 1024:,.1f} KiB of WAL per lead"),
        ("Postgres WAL fsyncs (pg_stat_io)", pg["pg wal fsyncs"], "commits share a flush when they meet"),
        ("Postgres connections opened", pg["pg sessions"], "each a new backend process"),
    ]
    backend_cpu = Counter({who: round(cpu * 1000) for who, cpu in led.backend_cpu().items()})
    if backend_cpu:
        label = "Postgres CPU ms (processes alive at the end)"
        rows.append((label, sum(backend_cpu.values()), _by_key(backend_cpu, leads)))
    syncs = Counter({name: sum(c[s] for s in SYNCS) for name, c in run.syscalls.items()})
    trips = Counter({name: sum(c[s] for s in ROUND_TRIPS) for name, c in run.syscalls.items()})
    if run.syscalls:
        rows += [
            ("fsync + fdatasync (perf)", sum(syncs.values()), _by_key(syncs, leads)),
            ("socket/file reads + writes (perf)", sum(trips.values()), _by_key(trips, leads)),
        ]
    lines = ["| per lead sent | total | per lead | where (per lead) |", "|---|---|---|---|"]
    lines += [f"| {what} | {total:,} | {_per(total, leads)} | {where} |" for what, total, where in rows]
    if run.syscall_problem:
        lines += ["", f"_Syscalls: {run.syscall_problem}._"]
    lines += ["", "The most frequent statements (per lead sent):", "", "| calls per lead | statement |", "|---|---|"]
    for query, calls in led.queries.most_common(15):
        text = query.replace("|", "\\|")
        lines.append(f"| {calls / leads:,.2f} | `{text}` |")
    return lines


def _cost_row(label: str, cost: Cost) -> str:
    fsyncs = NONE if cost.fsyncs is None else f"{cost.fsyncs:.2f}"
    return f"| {label} | {cost.client_us:,.0f} | {cost.server_us:,.0f} | {cost.cpu_us:,.0f} | {fsyncs} |"


def floor_lines(run: PipelineRun) -> list[str]:
    floor = run.floor
    if floor is None:
        return ["_The bare operations were not measured._"]
    return [
        "| bare operation (plain nats-py / asyncpg) | client CPU µs | server CPU µs | total CPU µs | server fsyncs |",
        "|---|---|---|---|---|",
        _cost_row(f"JetStream publish, pipelined ({floor.publish.operations:,})", floor.publish),
        _cost_row(f"JetStream delivery: pull (batch 16) + ack ({floor.delivery.operations:,})", floor.delivery),
        _cost_row(
            f"Postgres transaction: BEGIN, claim, state row, outbox row, COMMIT ({floor.transaction.operations:,}, "
            "8 connections)",
            floor.transaction,
        ),
        _cost_row(f"… per statement (÷ {STATEMENTS_PER_TRANSACTION})", floor.statement),
        *(
            f"| {label} | {us:,.0f} | {floor.delivery.server_us:,.0f} | {us + floor.delivery.server_us:,.0f} | |"
            for label, us in (
                ("FastStream delivery to a handler that does nothing, bare broker", floor.faststream_us),
                ("… through our broker (tracing, lead tag, dead letters, message ids)", floor.our_broker_us),
            )
            if us is not None
        ),
    ]


def ceiling(run: PipelineRun) -> dict[str, float] | None:
    """CPU µs per lead at the floor, the leads/s it allows on this machine's cores, and what was measured."""
    led, floor, usage, leads = run.ledger, run.floor, run.usage, run.funnel.get("sent") or 0
    if led is None or floor is None or usage is None or not leads:
        return None
    cores = os.cpu_count() or 1
    published = sum(led.streams.values()) / leads
    delivered = sum(led.delivered.values()) / leads
    statements = sum(led.statements.values()) / leads
    floor_us = published * floor.publish.cpu_us + delivered * floor.delivery.cpu_us
    floor_us += statements * floor.statement.cpu_us
    names = [*run.services, "nats-server", "postgres"]
    measured_ms = sum(usage.cpu_during(n) or 0.0 for n in names) * 1000 / leads
    framework_us = floor_us
    if floor.our_broker_us is not None:  # every delivery through our FastStream broker instead of plain nats-py
        framework_us += delivered * (floor.our_broker_us - floor.delivery.client_us)
    return {
        "framework_us": framework_us,
        "framework_rate": cores * 1e6 / framework_us if framework_us else 0.0,
        "published": published,
        "delivered": delivered,
        "statements": statements,
        "publish_us": published * floor.publish.cpu_us,
        "delivery_us": delivered * floor.delivery.cpu_us,
        "statement_us": statements * floor.statement.cpu_us,
        "floor_us": floor_us,
        "floor_rate": cores * 1e6 / floor_us if floor_us else 0.0,
        "measured_ms": measured_ms,
        "measured_rate": cores * 1000 / measured_ms if measured_ms else 0.0,
        "cores": cores,
    }


def ceiling_lines(run: PipelineRun) -> list[str]:
    c = ceiling(run)
    if c is None:
        return ["_No ceiling: the ledger or the floor is missing._"]
    return [
        "| per lead | count | floor cost used | CPU µs per lead |",
        "|---|---|---|---|",
        f"| events published | {c['published']:.2f} | publish | {c['publish_us']:,.0f} |",
        f"| messages delivered + acked | {c['delivered']:.2f} | delivery | {c['delivery_us']:,.0f} |",
        f"| SQL statements (incl. BEGIN/COMMIT) | {c['statements']:.2f} | statement | {c['statement_us']:,.0f} |",
        f"| **floor: the design with no code of ours** | | | **{c['floor_us']:,.0f}** → "
        f"**{c['floor_rate']:,.0f} leads/s** on {c['cores']} cores |",
        f"| … with every delivery through our FastStream broker (handlers doing nothing) | | | "
        f"{c['framework_us']:,.0f} → {c['framework_rate']:,.0f} leads/s |",
        f"| measured: services + nats-server + postgres | | | {c['measured_ms'] * 1000:,.0f} → "
        f"{c['measured_rate']:,.0f} leads/s if every core were ours |",
        "",
        *_verdict(run, c),
    ]


def _verdict(run: PipelineRun, c: dict[str, float]) -> list[str]:
    budget = c["cores"] * 1e6 / TARGET_RATE
    text = (
        f"{TARGET_RATE:,.0f} leads/s on {c['cores']:.0f} cores leaves {budget:,.0f} µs of CPU per lead for every "
        f"process together. The bare operations alone take {c['floor_us']:,.0f} µs ({c['floor_us'] / budget:.1f} "
        "times the budget), "
        f"so with one event per lead per hop and a transaction per hop this machine tops out near "
        f"{c['floor_rate']:,.0f} leads/s even if our code cost nothing; today's code costs "
        f"{c['measured_ms'] * 1000 / c['floor_us']:.1f} times the floor."
    )
    if run.floor and run.floor.our_broker_us is not None:
        framework = c["delivered"] * run.floor.our_broker_us
        text += (
            f" Handing a lead's {c['delivered']:.0f} messages through our FastStream broker to handlers that do "
            f"nothing costs {framework:,.0f} µs of the services' CPU alone ({100 * framework / budget:.0f} % of the "
            "budget)."
        )
    leads = run.funnel.get("sent") or 0
    nats_syncs = run.syscalls.get("nats-server")
    floor = run.floor
    if run.raw and leads and run.ledger and floor and floor.publish.fsyncs is not None:
        if nats_syncs:
            per_lead, how = (nats_syncs["fsync"] + nats_syncs["fdatasync"]) / leads, "counted"
        else:
            per_lead, how = c["published"] * floor.publish.fsyncs, "stored events times fsyncs per bare publish"
        busiest = max(run.ledger.streams.values()) / leads
        acks = "none" if not floor.delivery.fsyncs else f"{floor.delivery.fsyncs:.2f} each"
        text += (
            f" Disk is not the limit: nats-server makes {per_lead:.1f} fsyncs per lead ({how}; acknowledgements "
            f"made {acks} in the floor measurement), and one stream stored {run.raw.publish_concurrent:,.0f} fsync'd "
            f"messages/s in the yardstick, so at {busiest:.0f} events per lead on the busiest stream storage alone "
            f"would allow about {run.raw.publish_concurrent / busiest:,.0f} leads/s."
        )
    return [text]
