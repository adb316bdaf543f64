"""Small helpers for tests that talk to a real nats-server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nats
from nats.js.api import DeliverPolicy

from coldstream_shared.events import Event
from coldstream_shared.streams import ensure_streams, stream_for


async def publish_raw(nats_url: str, subject: str, body: bytes, msg_id: str) -> bool:
    """Publish bytes with a Nats-Msg-Id; False when JetStream dropped it as a duplicate."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        ack = await js.publish(subject, body, stream=stream_for(subject).name, headers={"Nats-Msg-Id": msg_id})
        return not ack.duplicate
    finally:
        await nc.close()


async def publish_event(nats_url: str, event: Event, msg_id: str | None = None) -> bool:
    """Publish an event as any NATS client would."""
    return await publish_raw(nats_url, event.subject, event.model_dump_json().encode(), msg_id or str(event.event_id))


async def collect(
    nats_url: str,
    subject: str,
    predicate: Any = None,
    *,
    expect: int = 1,
    timeout: float = 15.0,
    settle: float = 0.5,
) -> list[dict[str, Any]]:
    """Messages on `subject` matching `predicate`; waits for `expect`, then `settle` more seconds for extras."""
    found: list[dict[str, Any]] = []
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        settle_until: float | None = None
        while loop.time() < (settle_until or deadline):
            try:
                msg = await sub.next_msg(timeout=0.2)
            except (TimeoutError, nats.errors.TimeoutError):
                if len(found) >= expect and settle_until is None:
                    settle_until = loop.time() + settle
                continue
            payload = json.loads(msg.data)
            if predicate is None or predicate(payload):
                found.append(payload | {"_subject": msg.subject})
        return found
    finally:
        await nc.close()
