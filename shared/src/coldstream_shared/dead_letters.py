"""Settling failed messages: redeliver transient failures with a growing delay, park poison in the DLQ stream.

FastStream's default for NATS terminates a message on any exception (no retry, no trace of it). This
middleware turns every failure into an explicit decision, and the broker's acknowledgement middleware
(which sits outside it) carries the decision out:

- a permanent failure (undecodable body, a schema violation, `PermanentError`) or a message that has used up its
  deliveries is published to `dlq.<service>.<subject>` with the original body, headers and the error, then
  terminated;
- anything else is nacked with an exponential delay (a bare nak would redeliver at once and burn max_deliver).

If the dead letter cannot be stored, the message is nacked instead: it is never dropped.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
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

PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    PermanentError,
    ValidationError,
    json.JSONDecodeError,
    UnicodeDecodeError,
)


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
    return {
        "service": service,
        "original_subject": msg.subject,
        "original_headers": dict(msg.headers or {}),
        "original_body": body,
        "body_encoding": encoding,
        "error_type": type(error).__name__,
        "error": str(error)[:4000],
        "deliveries": deliveries,
        "failed_at": utcnow().isoformat(),
    }


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
            json.dumps(record).encode(),
            subject=dead_letter_subject(self.service, msg.subject),
            stream="DLQ",
            headers={
                "Nats-Msg-Id": str(stable_id("dlq", self.service, original_id)),
                "Coldstream-Error-Type": type(error).__name__,
            },
        )


class _DeadLetterMiddleware(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, owner: DeadLetters) -> None:
        super().__init__(msg, context=context)
        self.owner = owner

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
        if isinstance(exc_val, PERMANENT_ERRORS) or deliveries >= policy.max_deliver:
            try:
                await self.owner.park(msg, exc_val, deliveries)
            except Exception as park_error:  # the DLQ is unreachable: keep the message
                raise NackMessage(delay=policy.max_delay) from park_error
            raise RejectMessage from exc_val
        raise NackMessage(delay=policy.delay(deliveries, exc_val)) from exc_val
