"""Read the event streams from the beginning: the operator's commands derive their views from the events.

`read_to_end` visits every message stored on the given subjects up to the moment of the call (each ordered
consumer stops when it has no pending messages), so a command over a finished campaign returns promptly instead of
waiting for a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterable
from typing import Any

import nats
from nats.js.api import DeliverPolicy
from nats.js.client import JetStreamContext

Visitor = Callable[[str, dict[str, Any], dict[str, str]], None]
EVENT_SUBJECTS = ("campaign.>", "lead.>", "email.>", "reply.>", "dlq.>")


async def _read_subject(js: JetStreamContext, filter_subject: str, visit: Visitor, idle: float) -> None:
    sub = await js.subscribe(filter_subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=idle)
            except (TimeoutError, nats.errors.TimeoutError):
                return  # nothing stored (or the stream is quiet): done
            with contextlib.suppress(ValueError):
                payload = json.loads(msg.data)
                if isinstance(payload, dict):
                    visit(msg.subject, payload, dict(msg.headers or {}))
            if msg.metadata.num_pending == 0:
                return
    finally:
        await sub.unsubscribe()


async def read_to_end(
    nats_url: str, visit: Visitor, subjects: Iterable[str] = EVENT_SUBJECTS, *, idle: float = 1.0
) -> None:
    """Visit every stored message on `subjects` (concurrently per subject filter)."""
    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        await asyncio.gather(*(_read_subject(js, s, visit, idle) for s in subjects))
    finally:
        await nc.close()


async def follow(nats_url: str, visit: Visitor, stop: asyncio.Event, subjects: Iterable[str] = EVENT_SUBJECTS) -> None:
    """Visit every stored message, then new ones as they arrive, until `stop` is set."""
    nc = await nats.connect(nats_url, connect_timeout=5)
    try:
        js = nc.jetstream()

        async def on_message(msg: Any) -> None:
            with contextlib.suppress(ValueError):
                payload = json.loads(msg.data)
                if isinstance(payload, dict):
                    visit(msg.subject, payload, dict(msg.headers or {}))

        subs = [
            await js.subscribe(s, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL, cb=on_message)
            for s in subjects
        ]
        await stop.wait()
        for sub in subs:
            await sub.unsubscribe()
    finally:
        await nc.close()
