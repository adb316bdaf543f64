"""The per-lead ledger: what the pipeline did for each lead, counted by the servers and the kernel, not by our code.

- JetStream (stream and consumer info): messages stored per stream, messages delivered and acknowledged per
  consumer (a delivery is one pulled message, a redelivery counts again);
- Postgres: transactions committed (`pg_stat_database`), statements per service (`pg_stat_statements`, loaded by
  the benchmark: a statement is attributed to the service whose schema it names; BEGIN/COMMIT and the like are
  "transaction control"), WAL records and bytes (`pg_stat_wal`);
- the kernel (`perf stat` on syscall tracepoints, per process tree, only with COLDSTREAM_BENCH_SYSCALLS=1: it made
  every process of the stack spend about a third more CPU): fsync/fdatasync, and the writes, sends and receives
  that are round trips. Skipped, with a note, where perf is missing or not permitted.

Each figure is a difference between two snapshots taken around the campaign, so start-up and the yardstick do not
count.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass, field

import asyncpg
import nats
import psutil

# Loaded by the benchmark's Postgres: counting statements costs a little CPU per statement (noted in the report).
POSTGRES_SETTINGS = {"shared_preload_libraries": "pg_stat_statements", "pg_stat_statements.track_utility": "on"}
SYSCALLS = ("fsync", "fdatasync", "write", "writev", "sendto", "sendmsg", "recvfrom", "read")
SERVICES = ("discovery", "enrichment", "personalization", "sending", "replies")
SHARED_TABLES = ("processed_events", "outbox")  # every service has its own, under the same name
TRANSACTION_CONTROL = re.compile(r"^\s*(begin|commit|rollback|start transaction|savepoint|release)\b", re.I)


@dataclass
class Snapshot:
    """Cumulative counters at one moment."""

    streams: Counter[str] = field(default_factory=Counter)  # stream -> messages stored (last sequence)
    delivered: Counter[str] = field(default_factory=Counter)  # "stream/consumer" -> deliveries
    acked: Counter[str] = field(default_factory=Counter)  # "stream/consumer" -> ack floor (consumer sequence)
    postgres: Counter[str] = field(default_factory=Counter)  # transactions, rollbacks, WAL, rows
    statements: Counter[str] = field(default_factory=Counter)  # service (or "transaction control") -> calls
    queries: Counter[str] = field(default_factory=Counter)  # "service: start of the statement" -> calls
    backends: dict[int, tuple[str, float]] = field(default_factory=dict)  # pid -> (whose backend, CPU s so far)

    def minus(self, before: Snapshot) -> Snapshot:
        return Snapshot(
            streams=self.streams - before.streams,
            delivered=self.delivered - before.delivered,
            acked=self.acked - before.acked,
            postgres=self.postgres - before.postgres,
            statements=self.statements - before.statements,
            queries=self.queries - before.queries,
            backends={
                pid: (who, cpu - before.backends.get(pid, (who, 0.0))[1]) for pid, (who, cpu) in self.backends.items()
            },
        )

    def backend_cpu(self) -> Counter[str]:
        """CPU seconds of the Postgres processes alive at the end, by the service they serve (or their role)."""
        per: Counter[str] = Counter()
        for who, cpu in self.backends.values():
            per[who] += cpu
        return per


async def snapshot(nats_url: str, libpq_dsn: str) -> Snapshot:
    """Both servers' counters now."""
    result = Snapshot()
    nc = await nats.connect(nats_url, connect_timeout=5)
    try:
        js = nc.jetstream(timeout=10)
        for stream in await js.streams_info():
            name = stream.config.name
            if name is None or name.startswith("BENCH_RAW"):
                continue
            result.streams[name] = stream.state.last_seq
            for consumer in await js.consumers_info(name):
                key = f"{name}/{consumer.name}"
                result.delivered[key] = consumer.delivered.consumer_seq if consumer.delivered else 0
                result.acked[key] = consumer.ack_floor.consumer_seq if consumer.ack_floor else 0
    finally:
        await nc.close()
    conn = await asyncpg.connect(libpq_dsn)
    try:
        for pid, who in await conn.fetch(
            "SELECT pid, CASE WHEN application_name LIKE 'coldstream-%' THEN substr(application_name, 12)"
            " WHEN backend_type = 'client backend' THEN 'other clients' ELSE backend_type END FROM pg_stat_activity"
        ):
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                result.backends[pid] = (who, times.user + times.system)
        row = await conn.fetchrow(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted, tup_returned, sessions"
            " FROM pg_stat_database WHERE datname = current_database()"
        )
        result.postgres.update({f"pg {key}": int(value) for key, value in dict(row).items()})
        wal = await conn.fetchrow("SELECT wal_records, wal_bytes FROM pg_stat_wal")
        result.postgres.update({f"pg {key}": int(value) for key, value in dict(wal).items()})
        with contextlib.suppress(asyncpg.PostgresError):  # Postgres 18 counts WAL I/O here
            flushes = await conn.fetchval("SELECT coalesce(sum(fsyncs), 0) FROM pg_stat_io WHERE object = 'wal'")
            result.postgres["pg wal fsyncs"] = int(flushes)
        with contextlib.suppress(asyncpg.PostgresError):  # the module is not loaded: no statement counts
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            for query, calls in await conn.fetch("SELECT query, calls FROM pg_stat_statements"):
                owner = _owner(query)
                result.statements[owner] += int(calls)
                result.queries[f"{owner}: {' '.join(query.split())[:90]}"] += int(calls)
    finally:
        await conn.close()
    return result


def _owner(query: str) -> str:
    """Whose statement this is. Postgres 18 identifies a statement by its tables' names without their schema, so
    the processed-event and outbox statements of every service share one entry (under the first text seen)."""
    if TRANSACTION_CONTROL.match(query):
        return "transaction control"
    lowered = query.lower()
    if any(f".{shared} " in lowered or f".{shared}\n" in lowered for shared in SHARED_TABLES):
        return "claims + outboxes (all services)"
    for service in SERVICES:
        if f"{service}." in lowered:
            return service
    return "other (catalog, the ledger's own queries)"


class SyscallCounter:
    """`perf stat` on a few syscall tracepoints for each named process tree, between `start()` and `stop()`.

    perf attaches to every thread that exists at start and inherits into threads and processes they create (so
    Postgres backends opened during the campaign count; the harness is counted alone, without the stack).
    """

    def __init__(self, pids: dict[str, int], alone: frozenset[str] = frozenset()) -> None:
        self.pids = pids
        self.alone = alone  # names counted without their children (the harness, parent of the whole stack)
        self.counts: dict[str, Counter[str]] = {}
        self.problem: str | None = None
        self._perf: dict[str, subprocess.Popen[str]] = {}

    def start(self) -> None:
        perf = shutil.which("perf")
        if perf is None:
            self.problem = "perf is not installed: no syscall counts"
            return
        events = ",".join(f"syscalls:sys_enter_{name}" for name in SYSCALLS)
        for name, pid in self.pids.items():
            with contextlib.suppress(psutil.Error):
                children = [] if name in self.alone else psutil.Process(pid).children(recursive=True)
                tree = [pid, *(child.pid for child in children)]
                self._perf[name] = subprocess.Popen(
                    [perf, "stat", "-x", ",", "-e", events, "-p", ",".join(map(str, tree))],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )

    def stop(self) -> None:
        for proc in self._perf.values():
            proc.send_signal(signal.SIGINT)
        for name, proc in self._perf.items():
            try:
                _, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                continue
            counts: Counter[str] = Counter()
            for line in err.splitlines():
                parts = line.split(",")
                if len(parts) > 2 and parts[2].startswith("syscalls:sys_enter_") and parts[0].isdigit():
                    counts[parts[2].removeprefix("syscalls:sys_enter_")] += int(parts[0])
            if counts:
                self.counts[name] = counts
            elif self.problem is None:
                self.problem = f"perf counted nothing ({err.strip().splitlines()[-1] if err.strip() else 'no output'})"
