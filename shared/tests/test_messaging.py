"""Shared messaging plumbing on a real nats-server: an idle pull subscriber stays quiet on a busy event loop."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import nats
import nats.errors
import pytest

from coldstream_shared.messaging import declare_streams, durable, make_broker

STALL = 0.12  # longer than the fetch timeout below: the server's "no messages" reply is read after the deadline
FETCH_TIMEOUT = 0.1


async def _busy_loop(until: float) -> None:
    """Blocks the event loop each time it gets a turn, as a CPU-bound handler or a starved machine does."""
    while time.monotonic() < until:
        time.sleep(STALL)
        await asyncio.sleep(0)


async def test_an_empty_fetch_on_a_busy_loop_raises_nats_timeout(nats_url: str) -> None:
    """nats-py raised the builtin TimeoutError here, which FastStream's pull loop does not suppress."""
    name = f"IDLE_{uuid.uuid4().hex[:8]}"
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(name=name, subjects=[f"{name.lower()}.>"])
    try:
        sub = await js.pull_subscribe(f"{name.lower()}.>", durable="idle", stream=name)
        busy = asyncio.create_task(_busy_loop(time.monotonic() + 2))
        raised: list[type[BaseException]] = []
        while not busy.done():
            try:
                await sub.fetch(batch=16, timeout=FETCH_TIMEOUT)
            except TimeoutError as error:
                raised.append(type(error))
        await busy
    finally:
        await js.delete_stream(name)
        await nc.close()
    assert raised, "every fetch timed out on an empty stream"
    assert set(raised) == {nats.errors.TimeoutError}


async def test_an_idle_pull_subscriber_logs_no_error_and_keeps_consuming(
    nats_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    service = f"idle{uuid.uuid4().hex[:6]}"
    broker = make_broker(nats_url, service=service)
    access = logging.getLogger("faststream.access.nats")  # FastStream's own logger does not propagate
    access.addHandler(caplog.handler)
    received = asyncio.Event()

    @durable(broker, "lead.scraped", service=service, fetch_timeout=FETCH_TIMEOUT)
    async def handle(body: dict[str, object]) -> None:
        if body.get("probe") == service:
            received.set()

    await declare_streams(broker)
    await broker.start()
    try:
        await _busy_loop(time.monotonic() + 2)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        restarts = [r for r in caplog.records if r.getMessage().startswith("callback for Task")]
        await broker.publish({"probe": service}, subject="lead.scraped", stream="LEADS")
        await asyncio.wait_for(received.wait(), timeout=10)
    finally:
        await broker.stop()
        access.removeHandler(caplog.handler)
    assert not errors, [r.getMessage() for r in errors]
    assert not restarts, [r.getMessage() for r in restarts]
