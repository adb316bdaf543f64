"""The liveness heartbeat of a real service app (real nats-server and Postgres): the ready file's mtime advances
while the service is healthy (through a NATS outage too) and stops when its event loop is blocked, the NATS client
gave up or a background loop died.

The app runs on an event loop in its own thread, so the test can block that loop and watch the file from outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from nats.errors import ConnectionClosedError
from sqlalchemy import MetaData, text

from coldstream.runtime.nats import NatsServer
from coldstream_shared.service import Runtime, build_runtime, diagnose, make_app, standard_tables
from coldstream_shared.settings import ServiceSettings

SERVICE = "heartbeat"
BEAT = 0.05  # seconds; the deployed default is HEARTBEAT_SECONDS
WAIT = 15.0  # upper bound for anything that should happen, never a timing assertion
STALE = 0.0  # mtime the test sets to tell "touched since" from "not touched"
T = TypeVar("T")


@dataclass
class RunningService:
    runtime: Runtime
    nats: NatsServer
    loop: asyncio.AbstractEventLoop
    ready_file: Path
    stop_background_loop: threading.Event

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(WAIT)

    def problem(self) -> str | None:
        """What the heartbeat would find about the broker now."""
        return self.run(_diagnose_broker(self.runtime))

    def mark_stale(self) -> None:
        os.utime(self.ready_file, (STALE, STALE))

    def touched(self) -> bool:
        return self.ready_file.stat().st_mtime != STALE


async def _diagnose_broker(runtime: Runtime) -> str | None:
    return diagnose(runtime.broker, [])


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(BEAT / 2)


def stays_stale(service: RunningService) -> bool:
    """Marks the file stale and watches it for twenty beats."""
    service.mark_stale()
    time.sleep(20 * BEAT)
    return not service.touched()


@pytest.fixture
def service(
    nats_server_factory: Callable[..., NatsServer], fresh_database_url: str, tmp_path: Path
) -> Iterator[RunningService]:
    nats = nats_server_factory()
    settings = ServiceSettings(nats_url=nats.url, database_url=fresh_database_url, data_dir=tmp_path / "data")
    metadata = MetaData(schema="heartbeat")
    standard_tables(metadata)
    runtime = build_runtime(SERVICE, settings, metadata)
    runtime.heartbeat_seconds = BEAT
    stop_background_loop = threading.Event()

    async def background_loop() -> None:
        while not stop_background_loop.is_set():
            await asyncio.sleep(BEAT / 5)

    runtime.loops.append(background_loop)
    app = make_app(runtime)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="service loop", daemon=True)
    thread.start()
    running = RunningService(runtime, nats, loop, tmp_path / "data" / "ready" / SERVICE, stop_background_loop)

    async def create_tables() -> None:
        async with runtime.engine.begin() as conn:
            await conn.execute(text("CREATE SCHEMA heartbeat"))
            await conn.run_sync(metadata.create_all)

    running.run(create_tables())
    running.run(app.start())
    try:
        yield running
    finally:
        # A client that gave up (test_heartbeat_stops_when_the_nats_client_gave_up) cannot be drained at the stop.
        with contextlib.suppress(ConnectionClosedError):
            running.run(app.stop())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT)
        loop.close()
    assert not running.ready_file.exists(), "shutdown deletes the ready file and the heartbeat never recreates it"


def test_heartbeat_advances_while_healthy(service: RunningService) -> None:
    assert service.problem() is None
    for _ in range(3):
        service.mark_stale()
        wait_until(service.touched, "the heartbeat touches the ready file")


def test_heartbeat_stops_while_the_event_loop_is_blocked(service: RunningService) -> None:
    blocked, release = threading.Event(), threading.Event()

    def block() -> None:  # a synchronous call hogging the loop, as a hung service would
        blocked.set()
        release.wait(WAIT)

    service.loop.call_soon_threadsafe(block)
    blocked.wait(WAIT)
    try:
        assert stays_stale(service)
    finally:
        release.set()
    wait_until(service.touched, "the heartbeat resumes once the loop runs again")


def test_heartbeat_goes_on_through_a_nats_outage(service: RunningService) -> None:
    # The client reconnects by itself: restarting the pod would not bring NATS back.
    service.nats.stop()
    wait_until(lambda: not service.runtime.broker.connection.is_connected, "the client notices")
    assert service.problem() is None
    for _ in range(3):
        service.mark_stale()
        wait_until(service.touched, "the heartbeat goes on while the client reconnects")
    service.nats.start()
    wait_until(lambda: service.runtime.broker.connection.is_connected, "the client reconnects")


def test_heartbeat_stops_when_the_nats_client_gave_up(service: RunningService) -> None:
    service.run(service.runtime.broker.connection.close())  # what nats-py does once its reconnects are used up
    wait_until(lambda: service.problem() == "the NATS connection is closed", "the heartbeat notices")
    time.sleep(2 * BEAT)  # a beat decided just before the connection closed
    assert stays_stale(service)


def test_heartbeat_stops_when_a_background_loop_dies(service: RunningService, caplog: pytest.LogCaptureFixture) -> None:
    service.stop_background_loop.set()
    wait_until(lambda: "background loop stopped: heartbeat:" in caplog.text, "the heartbeat notices the dead loop")
    time.sleep(2 * BEAT)
    assert stays_stale(service)
