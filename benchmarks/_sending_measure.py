"""Measuring helpers of the sending benchmark: load-independent costs, and the fake Instantly in its own process."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

import psutil
from sqlalchemy import event

from coldstream.fakes.instantly import FakeInstantly, serve
from coldstream.runtime.nats import NatsServer
from coldstream.runtime.postgres import PostgresServer
from coldstream_shared.service import Runtime

KEY = "bench-key"
LIMIT_RPS = 100


class Meter:
    """Load-independent costs of a timed section: CPU of this process and of Postgres + NATS, SQL statements and
    transactions, fsyncs (the `.eml` files' and their directory's)."""

    def __init__(self, pg: PostgresServer, nats_server: NatsServer) -> None:
        postmaster = psutil.Process(int((pg.pgdata / "postmaster.pid").read_text().splitlines()[0]))
        self._postmaster = postmaster
        self._nats = psutil.Process(nats_server._proc.pid)  # type: ignore[union-attr]  # started above
        self.counts = {"statements": 0, "transactions": 0, "fsyncs": 0}

    def watch(self, runtime: Runtime) -> None:
        def statement(*_: Any) -> None:
            self.counts["statements"] += 1

        def commit(*_: Any) -> None:
            self.counts["transactions"] += 1

        event.listen(runtime.engine.sync_engine, "before_cursor_execute", statement)
        event.listen(runtime.engine.sync_engine, "commit", commit)

    def _servers_cpu(self) -> float:
        total = 0.0
        for process in [self._nats, self._postmaster, *self._postmaster.children(recursive=True)]:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    @contextmanager
    def measure(self, result: dict[str, Any]) -> Iterator[None]:
        """Fills `result` with what the block cost (the caller divides by the units of work)."""
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            self.counts["fsyncs"] += 1
            real_fsync(fd)

        before, cpu, servers = dict(self.counts), time.process_time(), self._servers_cpu()
        os.fsync = fsync
        try:
            yield
        finally:
            os.fsync = real_fsync
            result["cpu"] = time.process_time() - cpu
            result["servers_cpu"] = self._servers_cpu() - servers
            result.update({k: v - before[k] for k, v in self.counts.items()})
            result["load"] = os.getloadavg()[0]


def _serve_fake(conn: Connection) -> None:
    """The fake Instantly in its own process, as the real API is: its CPU and its timing are not ours."""
    fake = FakeInstantly(api_key=KEY, max_rps=LIMIT_RPS, flaky_429=0.01)
    with serve(fake) as url:
        conn.send(url)
        while conn.recv() != "stop":
            counts = {"requests": fake.requests, "add_calls": fake.add_calls, "throttled": fake.throttled}
            counts["cpu_ms"] = int(1000 * time.process_time())
            conn.send(counts | {"duplicates": len(fake.duplicates())})


@contextmanager
def fake_instantly() -> Iterator[tuple[str, Callable[[], dict[str, int]]]]:
    """(base URL, a function returning the fake's counters)."""
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_serve_fake, args=(child,), daemon=True)
    process.start()

    def counters() -> dict[str, int]:
        parent.send("counters")
        answer: dict[str, int] = parent.recv()
        return answer

    try:
        if not parent.poll(60):
            raise RuntimeError(f"the fake Instantly did not start (exit code {process.exitcode})")
        yield parent.recv(), counters
    finally:
        parent.send("stop")
        process.join(10)
