"""Dead-letter operations: list, show, replay and drop what the services parked in the DLQ stream.

A dead letter is the JSON record `coldstream_shared.dead_letters` stores at `dlq.<service>.<subject>`. Every
operation on one leaves a record of its own at `dlq._ops.<action>` (who, when, why, and the letter itself), then
removes the letter from the stream, so `list` shows only what still needs a decision.

Replay republishes the original body and headers to the original subject. The replay is published with its own
`Nats-Msg-Id` (derived from the letter), so replaying the same letter twice within JetStream's duplicate window is
one publish; beyond it, the consumers' idempotency (each event id is claimed once per service) applies it once.
Other services subscribed to the same subject see the replay too and skip it for the same reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nats
from nats.aio.client import Client
from nats.js.api import DeliverPolicy
from nats.js.client import JetStreamContext

from coldstream_shared.ids import stable_id
from coldstream_shared.streams import ensure_streams, stream_for
from coldstream_shared.subjects import DLQ_PREFIX

STREAM = "DLQ"
OPS = f"{DLQ_PREFIX}._ops"


@dataclass(frozen=True)
class DeadLetter:
    """One parked event, addressed by its sequence number in the DLQ stream."""

    seq: int
    subject: str
    record: dict[str, Any]

    @property
    def service(self) -> str:
        return str(self.record.get("service", "?"))

    def summary(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "service": self.service,
            "subject": self.record.get("original_subject"),
            "error_type": self.record.get("error_type"),
            "error": str(self.record.get("error", ""))[:200],
            "deliveries": self.record.get("deliveries"),
            "failed_at": self.record.get("failed_at"),
        }


class DeadLetterError(Exception):
    """An operation that cannot be carried out (unknown sequence, not a dead letter)."""


async def connect(nats_url: str) -> tuple[Client, JetStreamContext]:
    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=3)
    js = nc.jetstream()
    await ensure_streams(js)
    return nc, js


async def list_letters(
    js: JetStreamContext, *, service: str | None = None, subject: str | None = None, limit: int = 1000
) -> list[DeadLetter]:
    """Outstanding dead letters, oldest first, optionally for one service and/or original subject."""
    info = await js.stream_info(STREAM)
    if info.state.messages == 0:
        return []
    filter_subject = f"{DLQ_PREFIX}.{service}.>" if service else f"{DLQ_PREFIX}.>"
    if service and subject:
        filter_subject = f"{DLQ_PREFIX}.{service}.{subject}"
    sub = await js.subscribe(filter_subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
    letters: list[DeadLetter] = []
    try:
        while len(letters) < limit:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            if not msg.subject.startswith(f"{OPS}."):
                letter = DeadLetter(msg.metadata.sequence.stream, msg.subject, json.loads(msg.data))
                if subject is None or letter.record.get("original_subject") == subject:
                    letters.append(letter)
            if msg.metadata.num_pending == 0:
                break
    finally:
        await sub.unsubscribe()
    return letters


async def get_letter(js: JetStreamContext, seq: int) -> DeadLetter:
    try:
        raw = await js.get_msg(STREAM, seq)
    except nats.js.errors.NotFoundError as error:
        raise DeadLetterError(f"no dead letter #{seq} (already replayed or dropped?)") from error
    if raw.subject is None or raw.subject.startswith(f"{OPS}.") or raw.data is None:
        raise DeadLetterError(f"#{seq} is an operations record, not a dead letter")
    return DeadLetter(seq, raw.subject, json.loads(raw.data))


async def replay(js: JetStreamContext, seq: int, *, by: str) -> DeadLetter:
    """Publish the letter's original event again, record the replay, remove the letter."""
    letter = await get_letter(js, seq)
    record = letter.record
    if record.get("body_encoding") != "utf-8":
        raise DeadLetterError(f"#{seq} has an undecodable body; it cannot be replayed, only dropped")
    original_subject = str(record["original_subject"])
    headers = {k: str(v) for k, v in (record.get("original_headers") or {}).items() if not k.startswith("Nats-")}
    original_id = (record.get("original_headers") or {}).get("Nats-Msg-Id", f"dlq:{seq}")
    headers["Nats-Msg-Id"] = str(stable_id("replay", original_id, letter.service, seq))
    headers["Coldstream-Replay-Of"] = str(seq)
    await js.publish(
        original_subject,
        str(record["original_body"]).encode(),
        stream=stream_for(original_subject).name,
        headers=headers,
    )
    await _settle(js, letter, action="replayed", by=by, reason=None)
    return letter


async def drop(js: JetStreamContext, seq: int, *, by: str, reason: str) -> DeadLetter:
    """Give up on the letter on purpose: record who and why, remove it."""
    letter = await get_letter(js, seq)
    await _settle(js, letter, action="dropped", by=by, reason=reason)
    return letter


async def _settle(js: JetStreamContext, letter: DeadLetter, *, action: str, by: str, reason: str | None) -> None:
    # The record first, then the delete: a crash in between leaves the letter listed (safe to decide again),
    # never a letter gone without a trace.
    note = {
        "action": action,
        "by": by,
        "reason": reason,
        "at": datetime.now(UTC).isoformat(),
        "seq": letter.seq,
        "letter": letter.record,
    }
    await js.publish(
        f"{OPS}.{action}",
        json.dumps(note).encode(),
        stream=STREAM,
        headers={"Nats-Msg-Id": str(stable_id("dlq-op", action, letter.seq, letter.subject))},
    )
    await js.delete_msg(STREAM, letter.seq)
