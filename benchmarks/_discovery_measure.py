"""Measurements for benchmarks/discovery.py that are not the import itself: CPU and memory per process, and how
fast JetStream acknowledges with the stack's fsync setting."""

from __future__ import annotations

import gc
import inspect
import threading
import time
from pathlib import Path
from typing import Any

import nats
import psutil

import discovery.import_campaign as import_module
from coldstream.runtime.nats import NatsServer
from coldstream_shared.streams import ensure_streams
from coldstream_shared.unit_of_work import UnitOfWork
from discovery.preparation import RowPreparer


async def fsync_publish_rate(root: Path, n: int = 2000) -> float:
    """Events/s JetStream acknowledges with `sync_interval: always` (the stack's setting), sequential publishes."""
    server = NatsServer(root / "nats-fsync", port=0, http_port=0)
    server.start()
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_streams(js)
        payload = b"x" * 600  # about one lead.scraped event
        started = time.perf_counter()
        for i in range(n):
            await js.publish("lead.scraped", payload, stream="LEADS", headers={"Nats-Msg-Id": f"m{i}"}, timeout=30)
        rate = n / (time.perf_counter() - started)
        await nc.close()
    finally:
        server.stop()
    return rate


def cpu_by_process() -> dict[str, float]:
    """CPU seconds (user + system) so far: this process (every thread), its worker, Postgres, nats-server."""
    me = psutil.Process()
    loop_thread = threading.main_thread().native_id
    loop = sum(t.user_time + t.system_time for t in me.threads() if t.id == loop_thread)
    # The other threads: the span exporter, the database driver's and asyncio's helpers.
    totals = {"importing process: event loop": loop, "importing process: other threads": sum(me.cpu_times()[:2]) - loop}
    for child in me.children(recursive=True):
        try:
            name, times = child.name(), child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        group = "postgres" if name.startswith("postgres") else "nats-server" if "nats" in name else "worker process"
        totals[group] = totals.get(group, 0.0) + times.user + times.system
    return totals


def peak_rss_mb(process: psutil.Process) -> float:
    """A process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class StageClock:
    """Seconds the import spends inside named functions, patched in for one benchmark run (nothing in the service
    measures itself). Wall time: a coroutine's time includes whatever the event loop ran while it waited, and a
    batch's publishing overlaps the next batch, so the stages do not add up to the end-to-end time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._undo: list[tuple[object, str, object]] = []

    def time(self, owner: object, name: str, stage: str) -> None:
        original = getattr(owner, name)
        self.seconds.setdefault(stage, 0.0)

        if inspect.iscoroutinefunction(original):

            async def timed(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    self.seconds[stage] += time.perf_counter() - started

        else:

            def timed(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    self.seconds[stage] += time.perf_counter() - started

        self._undo.append((owner, name, original))
        setattr(owner, name, timed)

    def restore(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


class GcClock:
    """Seconds spent in the garbage collector while running (every generation), from gc.callbacks."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._started = 0.0

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self._tick)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._tick)

    def _tick(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.collections[info["generation"]] += 1


def import_stages(outbox: object, preparer: RowPreparer) -> StageClock:
    """Time the import's stages where it runs them: the event loop's share of each, and its wait for the worker."""
    clock = StageClock()
    clock.time(preparer, "_collect", "wait for the worker's normalise + validate + score")
    clock.time(import_module, "campaign_view", "dedup lookups (campaign's leads, contact projection)")
    clock.time(import_module, "decide", "dedup + exclude decisions")
    clock.time(import_module, "event_for", "build events")
    clock.time(import_module, "emit_in_lead_trace", "one trace per lead (span)")
    clock.time(import_module, "record_outcomes", "store: outcomes, leads, exclusions, organisations, counters")
    clock.time(UnitOfWork, "commit", "store: outbox rows + COMMIT")
    clock.time(outbox, "publish", "publish to JetStream (overlaps the next batch)")
    return clock
