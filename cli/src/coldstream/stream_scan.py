"""Read the event streams from the beginning: the operator's commands derive their views from the events.

One reader for every command: messages are fetched by stream sequence number (direct gets), with no consumer at
all. A push (ordered) consumer stalled under load in CI, and a pull consumer without acks loses what was sent to
an expired request; reading by sequence has neither problem, and deleted sequences (settled dead letters) are
simply skipped.

- `read_to_end` visits everything stored up to the moment of the call, then returns.
- `follow` keeps visiting new messages until `stop` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterable
from typing import Any

import nats
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

Visitor = Callable[[str, dict[str, Any], dict[str, str]], None]
EVENT_STREAMS = ("CAMPAIGNS", "LEADS", "EMAILS", "REPLIES", "DLQ")
POLL_SECONDS = 0.2


async def _read_from(js: JetStreamContext, stream: str, next_seq: int, visit: Visitor) -> int:
    """Visit `stream` from `next_seq` to its current end; returns the next sequence to read."""
    try:
        last = (await js.stream_info(stream)).state.last_seq
    except NotFoundError:
        return next_seq  # not created yet
    while next_seq <= last:
        try:
            raw = await js.get_msg(stream, next_seq)
        except NotFoundError:  # deleted, e.g. a replayed or dropped dead letter
            raw = None
        next_seq += 1
        if raw is not None and raw.subject and raw.data:
            with contextlib.suppress(ValueError):
                payload = json.loads(raw.data)
                if isinstance(payload, dict):
                    visit(raw.subject, payload, dict(raw.headers or {}))
    return next_seq


async def read_to_end(nats_url: str, visit: Visitor, streams: Iterable[str] = EVENT_STREAMS) -> None:
    """Visit every message stored in `streams` now."""
    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        await asyncio.gather(*(_read_from(js, stream, 1, visit) for stream in streams))
    finally:
        await nc.close()


async def follow(nats_url: str, visit: Visitor, stop: asyncio.Event, streams: Iterable[str] = EVENT_STREAMS) -> None:
    """Visit every stored message, then new ones as they arrive, until `stop` is set."""
    nc = await nats.connect(nats_url, connect_timeout=5)
    js = nc.jetstream()

    async def tail(stream: str) -> None:
        next_seq = 1
        while not stop.is_set():
            next_seq = await _read_from(js, stream, next_seq, visit)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)  # look again for what arrived since

    try:
        await asyncio.gather(*(tail(stream) for stream in streams))
    finally:
        await nc.close()
