"""The one way services connect to NATS: broker factory, durable subscribers and event publishing."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import nats.errors
from faststream import AckPolicy, BaseMiddleware
from faststream.nats import ConsumerConfig, NatsBroker, PullSub
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from nats.js.client import JetStreamContext
from opentelemetry.trace import TracerProvider

from coldstream_shared.dead_letters import DeadLetters, RetryPolicy
from coldstream_shared.events.envelope import Event
from coldstream_shared.streams import ensure_streams, stream_for
from coldstream_shared.telemetry import tag_lead

if TYPE_CHECKING:
    from faststream.nats.subscriber.usecases import LogicSubscriber
    from nats.aio.msg import Msg

# Redelivery timer for a delivered message. Handlers that may run longer send in-progress heartbeats.
DEFAULT_ACK_WAIT = 60.0
# How long one pull waits for messages on an idle consumer before it asks again.
DEFAULT_FETCH_TIMEOUT = 1.0


def _idle_fetch_times_out_quietly() -> None:
    """Make an empty multi-message fetch raise nats' TimeoutError, never the builtin one.

    nats-py 2.16 raises the builtin `TimeoutError` from `PullSubscription.fetch(batch>1)` when its deadline has
    passed by the time the server's "no messages" reply is read (a busy event loop). FastStream's pull loop only
    suppresses nats' `TimeoutError`, so the builtin one killed the fetch task: an ERROR with a traceback, then
    "callback for Task-..." lines while FastStream restarted it. nats' error subclasses the builtin one, so callers
    that catch either still do. Idempotent.
    """
    fetch = JetStreamContext.PullSubscription.fetch
    if getattr(fetch, "__coldstream_quiet__", False):
        return

    @functools.wraps(fetch)
    async def quiet_fetch(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await fetch(self, *args, **kwargs)
        except nats.errors.TimeoutError:
            raise
        except TimeoutError as error:
            raise nats.errors.TimeoutError from error

    quiet_fetch.__coldstream_quiet__ = True  # type: ignore[attr-defined]
    JetStreamContext.PullSubscription.fetch = quiet_fetch  # type: ignore[method-assign]


_idle_fetch_times_out_quietly()


class MessageIdMiddleware(BaseMiddleware):
    """Sets `Nats-Msg-Id` to the event id on every publish of an event (FastStream does not)."""

    async def publish_scope(self, call_next: Callable[[Any], Any], cmd: Any) -> Any:
        body = getattr(cmd, "body", None)
        if isinstance(body, Event):
            cmd.add_headers({"Nats-Msg-Id": str(body.event_id)}, override=False)
        return await call_next(cmd)


class LeadTagMiddleware(BaseMiddleware):
    """Puts the event's lead and campaign ids on the consume span, so every handler's span can be found by lead.

    Sits inside the telemetry middleware (its span is current here). A body that does not decode is left to the
    handler, whose decoding error dead-letters the message.
    """

    async def consume_scope(self, call_next: Callable[[Any], Any], msg: Any) -> Any:
        with contextlib.suppress(Exception):
            body = await msg.decode()  # cached on the message: the handler does not decode again
            if isinstance(body, dict):
                tag_lead(_text(body.get("lead_id")), _text(body.get("campaign_id")))
        return await call_next(msg)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def make_broker(
    nats_url: str,
    *,
    service: str,
    tracer_provider: TracerProvider | None = None,
    retry: RetryPolicy | None = None,
) -> NatsBroker:
    """A broker with an explicit ack policy, tracing, deterministic message ids and dead letters."""
    dead_letters = DeadLetters(service=service, policy=retry or RetryPolicy())
    broker = NatsBroker(
        nats_url,
        name=service,
        # Explicit, and never reached for handler errors: DeadLetters converts every failure into a nack with
        # a delay or a reject after parking the message.
        ack_policy=AckPolicy.REJECT_ON_ERROR,
        middlewares=(
            MessageIdMiddleware,
            NatsTelemetryMiddleware(tracer_provider=tracer_provider),
            LeadTagMiddleware,
            dead_letters,
        ),
        graceful_timeout=30.0,
        log_level=logging.DEBUG,  # per-message receipts are noise at INFO with thousands of leads
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
    )
    dead_letters.broker = broker
    broker.dead_letters = dead_letters  # type: ignore[attr-defined]
    return broker


def is_last_delivery(broker: NatsBroker, msg: Any) -> bool:
    """Whether `msg` (a FastStream NatsMessage) is on the delivery after which DeadLetters parks it if it fails: a
    handler can then end its work visibly (a failed status, an alert) instead of leaving it half done in silence."""
    dead_letters: DeadLetters | None = getattr(broker, "dead_letters", None)
    max_deliver = (dead_letters.policy if dead_letters else RetryPolicy()).max_deliver
    return bool(msg.raw_message.metadata.num_delivered >= max_deliver)


async def declare_streams(broker: NatsBroker) -> None:
    """Connect and make sure every stream exists before subscribers start."""
    await broker.connect()
    await ensure_streams(broker.connection.jetstream())


def durable(
    broker: Any,
    subject: str,
    *,
    service: str,
    ack_wait: float = DEFAULT_ACK_WAIT,
    batch_size: int = 16,
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
    max_ack_pending: int = 1000,
    policy: RetryPolicy | None = None,
    **kwargs: Any,
) -> LogicSubscriber[Msg]:
    """A durable pull subscriber for `service` on `subject` (competing consumers scale out with replicas).

    Typed as FastStream's subscriber (whose `__call__` keeps the handler's signature), so `@durable(...)`
    handlers stay typed under mypy; `broker` stays `Any` so tests can pass a stand-in.
    """
    policy = policy or RetryPolicy()
    subscriber: LogicSubscriber[Msg] = broker.subscriber(
        subject,
        stream=stream_for(subject),
        durable=f"{service}--{subject.replace('.', '-')}",
        pull_sub=PullSub(batch_size=batch_size, timeout=fetch_timeout),
        # The server-side limit sits above ours: DeadLetters parks a message at policy.max_deliver; the server
        # limit only matters when a process dies on every delivery, and then the advisory is kept in a stream.
        config=ConsumerConfig(
            ack_wait=ack_wait,
            max_deliver=policy.max_deliver + 2,
            max_ack_pending=max_ack_pending,
        ),
        **kwargs,
    )
    return subscriber


async def publish_event(broker: NatsBroker, event: Event, headers: dict[str, str] | None = None) -> None:
    """Publish one event to its stream and wait for JetStream's acknowledgement."""
    await broker.publish(
        event,
        subject=event.subject,
        stream=stream_for(event.subject).name,
        headers={"Nats-Msg-Id": str(event.event_id), **(headers or {})},
        correlation_id=event.correlation_id,
    )


def document_publishes(broker: Any, *events: type[Event]) -> None:
    """Declare what a service publishes so the generated AsyncAPI document shows it.

    Publishing itself goes through the outbox (`broker.publish`); these publisher objects only describe it.
    """
    for event in events:
        broker.publisher(
            event.subject,
            stream=stream_for(event.subject),
            schema=event,
            title=f"publishes {event.subject}",
            description=(event.__doc__ or "").strip(),
        )
