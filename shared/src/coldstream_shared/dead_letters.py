"""Settling failed messages: redeliver transient failures with a growing delay, park poison in the DLQ stream.

FastStream's default for NATS terminates a message on any exception (no retry, no trace of it). This
middleware turns every failure into an explicit decision, and the broker's acknowledgement middleware
(which sits outside it) carries the decision out:

- a permanent failure (undecodable body, a schema violation, a body over MAX_EVENT_BYTES, data the database
  refuses, `PermanentError`) or a message that has used up its deliveries is published to
  `dlq.<service>.<subject>` with the original body, headers and the error, then terminated;
- anything else is nacked with an exponential delay (a bare nak would redeliver at once and burn max_deliver).

If the dead letter cannot be stored, the message is nacked instead: it is never dropped.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from faststream import BaseMiddleware
from faststream.exceptions import HandlerException, NackMessage, RejectMessage
from nats.aio.msg import Msg
from pydantic import ValidationError

from coldstream_shared.errors import PermanentError, TransientError
from coldstream_shared.events.envelope import utcnow
from coldstream_shared.ids import stable_id
from coldstream_shared.subjects import dead_letter_subject

if TYPE_CHECKING:
    from faststream.nats import NatsBroker

log = logging.getLogger(__name__)

PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    PermanentError,
    ValidationError,
    json.JSONDecodeError,
    UnicodeError,  # undecodable bytes, or text that cannot be encoded (a lone surrogate from a JSON escape)
    RecursionError,  # JSON nested deeper than the decoder goes: the same body fails the same way every time
)
# Postgres SQLSTATE class 22, "data exception": the value itself is refused (a NUL in text, an invalid escape in
# JSON, a number out of range), so the same event fails the same way on every delivery.
DATA_EXCEPTION_CLASS = "22"
# No event of ours comes near this (campaign.started, the largest, is a few KiB). A bigger one would not fit the
# events derived from it under NATS's default max_payload (1 MiB) and would wedge the outbox that publishes them.
MAX_EVENT_BYTES = 512 * 1024
# A dead letter must itself fit in one NATS message: past this the body is cut to an excerpt (the whole original
# stays in its stream at `original_sequence`).
MAX_RECORD_BYTES = 768 * 1024
BODY_EXCERPT_CHARS = 16 * 1024
HEADER_EXCERPT_CHARS = 1024
# JetStream acknowledges a stored message once it is on disk; FastStream's default 0.5 s wait is too short for a
# large dead letter on a busy machine, and a timed-out park costs the message a retry after `max_delay`.
PUBLISH_TIMEOUT = 10.0


class OversizedEventError(PermanentError):
    """The message body is larger than any event this service accepts."""


def is_permanent(error: BaseException) -> bool:
    """Whether retrying cannot help: bad data, not a bad moment."""
    if isinstance(error, PERMANENT_ERRORS):
        return True
    # SQLAlchemy wraps the driver's error; both carry the SQLSTATE.
    sqlstate = getattr(error, "sqlstate", None) or getattr(getattr(error, "orig", None), "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(DATA_EXCEPTION_CLASS)


@dataclass
class RetryPolicy:
    """How often and how patiently a service retries before it dead-letters."""

    max_deliver: int = 8
    base_delay: float = 0.5
    max_delay: float = 60.0

    def delay(self, delivered: int, error: BaseException) -> float:
        """Exponential backoff with full jitter; honours a `retry_after` the failure asked for."""
        if isinstance(error, TransientError) and error.retry_after is not None:
            return min(self.max_delay, error.retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(0, delivered - 1))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto


def dead_letter_record(msg: Msg, service: str, error: BaseException, deliveries: int) -> dict[str, Any]:
    """What an operator needs to understand and replay a failed event."""
    try:
        body: Any = msg.data.decode()
        encoding = "utf-8"
    except UnicodeDecodeError:
        body, encoding = base64.b64encode(msg.data).decode(), "base64"
    metadata = msg.metadata
    return {
        "service": service,
        "original_subject": msg.subject,
        "original_stream": metadata.stream,
        "original_sequence": metadata.sequence.stream,
        "original_headers": dict(msg.headers or {}),
        "original_body": body,
        "body_encoding": encoding,
        "body_bytes": len(msg.data),
        "error_type": type(error).__name__,
        "error": str(error)[:4000],
        "deliveries": deliveries,
        "failed_at": utcnow().isoformat(),
    }


def encode_record(record: dict[str, Any]) -> bytes:
    """The record as JSON, cut to fit one NATS message: an oversized (or escape-heavy) body would otherwise make
    the dead letter unpublishable, and the message would be nacked forever instead of parked."""
    data = json.dumps(record).encode()
    # An oversized body cannot be replayed as it is anyway: keep an excerpt, not another copy of it.
    if len(data) <= MAX_RECORD_BYTES and record["error_type"] != OversizedEventError.__name__:
        return data
    headers = dict(list(record["original_headers"].items())[:50])
    cut = (
        record
        | _ids_of(record["original_body"])
        | {
            "original_body": record["original_body"][:BODY_EXCERPT_CHARS],
            # Not the original any more: `coldstream dlq replay` refuses anything but "utf-8".
            "body_encoding": f"excerpt-{record['body_encoding']}",
            "original_headers": {str(k)[:200]: str(v)[:HEADER_EXCERPT_CHARS] for k, v in headers.items()},
        }
    )
    return json.dumps(cut).encode()


def _ids_of(body: str) -> dict[str, str]:
    """The ids an excerpt may have cut off, so tools can still tell whose event this was."""
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(event, dict):
        return {}
    return {key: event[key] for key in ("event_id", "campaign_id", "lead_id") if isinstance(event.get(key), str)}


@dataclass
class DeadLetters:
    """Broker middleware factory; `broker` is attached once the broker exists."""

    service: str
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    broker: NatsBroker | None = None

    def __call__(self, msg: Any, /, *, context: Any) -> _DeadLetterMiddleware:
        return _DeadLetterMiddleware(msg, context=context, owner=self)

    async def park(self, msg: Msg, error: BaseException, deliveries: int) -> None:
        """Store the failed message in the DLQ stream (acknowledged by JetStream before we terminate it)."""
        assert self.broker is not None, "DeadLetters.broker must be set by make_broker"
        record = dead_letter_record(msg, self.service, error, deliveries)
        original_id = (msg.headers or {}).get("Nats-Msg-Id") or f"{msg.metadata.stream}:{msg.metadata.sequence.stream}"
        await self.broker.publish(
            encode_record(record),
            subject=dead_letter_subject(self.service, msg.subject),
            stream="DLQ",
            timeout=PUBLISH_TIMEOUT,
            headers={
                "Nats-Msg-Id": str(stable_id("dlq", self.service, original_id)),
                "Coldstream-Error-Type": type(error).__name__,
            },
        )


class _DeadLetterMiddleware(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, owner: DeadLetters) -> None:
        super().__init__(msg, context=context)
        self.owner = owner

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: Any) -> Any:
        # Before the body is decoded and validated; raised here, it reaches after_processed like a handler error.
        size = len(getattr(msg, "body", b"") or b"")
        if size > MAX_EVENT_BYTES:
            raise OversizedEventError(f"the message body is {size} bytes; events are at most {MAX_EVENT_BYTES} bytes")
        return await call_next(msg)

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        if exc_val is None or isinstance(exc_val, HandlerException | asyncio.CancelledError):
            return False
        msg = self.msg
        if not isinstance(msg, Msg) or not msg.reply:  # not a JetStream delivery: nothing to settle
            return False
        deliveries = msg.metadata.num_delivered
        policy = self.owner.policy
        where = f"{self.owner.service}: {msg.subject} #{msg.metadata.sequence.stream} (delivery {deliveries})"
        if is_permanent(exc_val) or deliveries >= policy.max_deliver:
            try:
                await self.owner.park(msg, exc_val, deliveries)
            except Exception as park_error:  # the DLQ is unreachable: keep the message
                # No traceback: its chain would quote the original error, and with it the event's fields.
                log.error(
                    "%s: cannot store the dead letter (%s); retrying in %.0fs",
                    where,
                    type(park_error).__name__,
                    policy.max_delay,
                )
                raise NackMessage(delay=policy.max_delay) from park_error
            # The type only: messages may quote the event's fields (email addresses); the dead letter has them all.
            log.warning("%s dead-lettered: %s", where, type(exc_val).__name__)
            raise RejectMessage from exc_val
        delay = policy.delay(deliveries, exc_val)
        # Without this line a retried failure leaves no trace until it is finally dead-lettered.
        log.warning("%s failed, retrying in %.1fs: %s", where, delay, type(exc_val).__name__)
        raise NackMessage(delay=delay) from exc_val
