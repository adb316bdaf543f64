"""Read the event streams from the beginning: the operator's commands derive their views from the events.

One reader for every command, the chaos run and the benchmarks: stored messages are fetched by stream sequence in
batches (JetStream's batched direct get), with no consumer at all. A push (ordered) consumer stalled under load in
CI, and a pull consumer without acks loses what was sent to an expired request; reading by sequence has neither
problem, and deleted sequences (settled dead letters) are simply skipped. One request brings up to `BATCH`
messages: fetching them one by one cost the demo's progress view ~10 ms of CPU per lead.

- `read_batch` returns the stored messages from a sequence on (the building block).
- `read_to_end` visits everything stored up to the moment of the call, then returns.
- `follow` keeps visiting new messages until `stop` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nats
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.js.errors import NotFoundError

Visitor = Callable[[str, dict[str, Any], dict[str, str]], None]
EVENT_STREAMS = ("CAMPAIGNS", "LEADS", "EMAILS", "REPLIES", "DLQ")
POLL_SECONDS = 0.2
BATCH = 256
REQUEST_TIMEOUT = 10.0
# Headers the server adds to a direct-get answer; the rest are the message's own.
_DIRECT_HEADERS = frozenset(
    {"Nats-Stream", "Nats-Sequence", "Nats-Time-Stamp", "Nats-Subject", "Nats-Num-Pending", "Nats-Last-Sequence"}
)


@dataclass(frozen=True)
class Stored:
    """One stored message as the stream holds it."""

    sequence: int
    subject: str
    data: bytes
    headers: dict[str, str]
    time: float  # when the stream stored it, epoch seconds

    def payload(self) -> dict[str, Any] | None:
        """The JSON object it carries, or None for anything else."""
        try:
            payload = json.loads(self.data)
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None


async def read_batch(nc: Client, stream: str, start: int, limit: int = BATCH) -> list[Stored]:
    """Up to `limit` messages of `stream` stored at sequence `start` or later, in order; [] once past the end."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    try:
        request = json.dumps({"seq": start, "batch": limit}).encode()
        await nc.publish(f"$JS.API.DIRECT.GET.{stream}", request, reply=inbox)
        found: list[Stored] = []
        while True:
            msg = await sub.next_msg(timeout=REQUEST_TIMEOUT)
            headers = dict(msg.headers or {})
            status = headers.get("Status")
            if status in ("204", "404"):  # end of this batch / nothing at or after `start`
                return found
            if status == "503":
                raise NoRespondersError  # no such stream (or direct get not allowed on it)
            if status:
                raise RuntimeError(f"direct get on {stream} answered {status}: {headers.get('Description', '')}")
            found.append(
                Stored(
                    sequence=int(headers["Nats-Sequence"]),
                    subject=headers.get("Nats-Subject", ""),
                    data=msg.data,
                    headers={k: v for k, v in headers.items() if k not in _DIRECT_HEADERS},
                    time=datetime.fromisoformat(headers["Nats-Time-Stamp"]).timestamp(),
                )
            )
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()


async def read_stream(nc: Client, stream: str, start: int = 1) -> tuple[list[Stored], int]:
    """Everything stored in `stream` from `start` on, and the sequence to read from next time."""
    found: list[Stored] = []
    while batch := await read_batch(nc, stream, start):
        found.extend(batch)
        start = batch[-1].sequence + 1
    return found, start


async def _read_from(nc: Client, stream: str, next_seq: int, visit: Visitor) -> int:
    """Visit `stream` from `next_seq` to its current end; returns the next sequence to read."""
    try:
        stored, next_seq = await read_stream(nc, stream, next_seq)
    except (NoRespondersError, NotFoundError):
        return next_seq  # not created yet
    for message in stored:
        payload = message.payload()
        if payload is not None and message.subject:
            visit(message.subject, payload, message.headers)
    return next_seq


async def read_to_end(nats_url: str, visit: Visitor, streams: Iterable[str] = EVENT_STREAMS) -> None:
    """Visit every message stored in `streams` now."""
    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=3)
    try:
        await asyncio.gather(*(_read_from(nc, stream, 1, visit) for stream in streams))
    finally:
        await nc.close()


async def follow(nats_url: str, visit: Visitor, stop: asyncio.Event, streams: Iterable[str] = EVENT_STREAMS) -> None:
    """Visit every stored message, then new ones as they arrive, until `stop` is set."""
    nc = await nats.connect(nats_url, connect_timeout=5)

    async def tail(stream: str) -> None:
        next_seq = 1
        while not stop.is_set():
            next_seq = await _read_from(nc, stream, next_seq, visit)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)  # look again for what arrived since

    try:
        await asyncio.gather(*(tail(stream) for stream in streams))
    finally:
        await nc.close()
