"""Transactional outbox: events are stored with the state change that caused them and published after commit.

Without it, a crash between "commit" and "publish" loses the downstream event while the redelivered input is
skipped as already applied: a lost lead. With it, whatever was committed is published eventually: by the unit of
work right after its commit (the fast path, no extra query) or by the relay loop that sweeps rows left
unpublished for longer than `SWEEP_AFTER` (a crash, a NATS outage). A publish may repeat; the deterministic
`Nats-Msg-Id` and the consumers' processed-event tables absorb that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from pydantic_core import PydanticSerializationError, to_json
from sqlalchemy import (
    ARRAY,
    JSON,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    any_,
    bindparam,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import TextClause

from coldstream_shared.errors import PermanentError
from coldstream_shared.events.envelope import Event
from coldstream_shared.streams import stream_for

log = logging.getLogger(__name__)

# JetStream acknowledges a publish only once it is on disk (sync_interval: always); FastStream's default 0.5 s
# is too short for that under load, and a timed-out publish costs a whole relay round.
PUBLISH_TIMEOUT = 5.0
# Publishes in flight per burst and per process. Every burst's unacknowledged publishes are cancelled after
# PUBLISH_TIMEOUT, so a full window (an outage) frees itself and a waiting burst goes on.
PUBLISH_BURST = 1000
MAX_PENDING = 10 * PUBLISH_BURST
# The relay leaves younger rows to the unit of work that is publishing them right now; a row older than this
# was not published by its transaction (crash, outage). Publishing both would be harmless (deduplicated), only wasted.
SWEEP_AFTER = timedelta(seconds=5)


def outbox_table(metadata: MetaData) -> Table:
    """The service's outbox, in its own schema."""
    table = Table(
        "outbox",
        metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("subject", String(200), nullable=False),
        Column("payload", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        Column("headers", JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
    )
    Index(
        f"ix_{metadata.schema}_outbox_pending",
        table.c.created_at,
        postgresql_where=table.c.published_at.is_(None),
    )
    return table


@dataclass(frozen=True)
class Pending:
    """One stored event, as the publisher needs it."""

    event_id: UUID
    subject: str
    body: str  # the event as JSON, encoded once for both the outbox row and the message
    headers: dict[str, str]
    correlation_id: str

    @classmethod
    def of(cls, event: Event, headers: dict[str, str]) -> Pending:
        """An event about to be stored; PermanentError when it cannot be written as JSON.

        That is the input's doing (a lone surrogate from a JSON escape copied into a field, say), so the message
        that caused it goes to the dead letters at once instead of failing the same way on every delivery.
        """
        try:
            body = event.model_dump_json()
        except PydanticSerializationError as error:
            raise PermanentError(f"{event.subject} {event.event_id} cannot be written as JSON: {error}") from error
        return cls(event.event_id, event.subject, body, headers, str(event.correlation_id))

    @classmethod
    def stored(cls, event_id: UUID, subject: str, payload: dict[str, Any], headers: dict[str, str]) -> Pending:
        """An event read back from the outbox table."""
        correlation_id = str(payload.get("correlation_id") or event_id)
        return cls(event_id, subject, to_json(payload).decode(), headers, correlation_id)


class Outbox:
    """Stores events inside a transaction and publishes them once committed."""

    def __init__(self, table: Table, sessions: async_sessionmaker[AsyncSession], broker: NatsBroker) -> None:
        self._table = table
        self._sessions = sessions
        self._broker = broker
        self._insert = _insert_statement(table)
        self._js: JetStreamContext | None = None
        self._js_connection: object = None
        # Published but not yet marked: marked in one UPDATE per relay round instead of one per transaction.
        self._published: set[UUID] = set()

    async def add(self, session: AsyncSession, events: Iterable[tuple[Event, dict[str, str]]]) -> list[Pending]:
        """Store events in the caller's transaction, each with the trace context it was emitted in; returns those
        stored now (one stored before is neither stored nor published again)."""
        pending = [Pending.of(event, carrier) for event, carrier in events]
        if pending:
            # One statement of fixed text with one array per column, whatever the number of events.
            stored = await session.execute(
                self._insert,
                {
                    "event_ids": [p.event_id for p in pending],
                    "subjects": [p.subject for p in pending],
                    "payloads": [p.body for p in pending],
                    "headers": [to_json(p.headers).decode() for p in pending],
                },
            )
            new = set(stored.scalars())
            pending = [p for p in pending if p.event_id in new]
        return pending

    async def publish(self, pending: Sequence[Pending]) -> None:
        """Publish events whose transaction has committed; they are marked published by the relay's next round."""
        results = await self._publish_all(pending)
        self._published.update(p.event_id for p, r in zip(pending, results, strict=True) if r is None)
        for result in results:
            if result is not None:
                raise result

    async def flush(self, limit: int = 500, older_than: timedelta = SWEEP_AFTER) -> int:
        """Publish stored events left unpublished for longer than `older_than`; returns how many went out."""
        await self.mark_published()
        table = self._table
        async with self._sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(table.c.event_id, table.c.subject, table.c.payload, table.c.headers)
                    .where(table.c.published_at.is_(None), table.c.created_at <= func.now() - older_than)
                    .order_by(table.c.created_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            results = await self._publish_all([Pending.stored(*row) for row in rows])
            done = [row.event_id for row, result in zip(rows, results, strict=True) if result is None]
            for row, result in zip(rows, results, strict=True):
                if result is not None:  # one unpublishable row must not hold back the others
                    log.warning("outbox event %s (%s) not published: %r", row.event_id, row.subject, result)
            if done:
                await session.execute(update(table).where(table.c.event_id.in_(done)).values(published_at=func.now()))
        return len(done)

    async def mark_published(self) -> None:
        """Record what the fast path published (lost on a crash: the relay then publishes it again, deduplicated)."""
        if not self._published:
            return
        ids, self._published = list(self._published), set()
        try:
            async with self._sessions() as session, session.begin():
                # One array parameter: an IN list takes one parameter per id, and a burst (a 100k-row import)
                # passed asyncpg's limit of 32,767 parameters per statement.
                await session.execute(
                    update(self._table)
                    .where(self._table.c.event_id == any_(bindparam("ids", type_=ARRAY(Uuid))))
                    .where(self._table.c.published_at.is_(None))
                    .values(published_at=func.now()),
                    {"ids": ids},
                )
        except BaseException:
            self._published.update(ids)
            raise

    async def _publish_all(self, events: Sequence[Pending]) -> list[Exception | None]:
        """Publish a burst pipelined (all sent, then all acknowledgements awaited); the outcome of each, in order.

        One round trip for the burst instead of one per event, and no FastStream publish per event: its codec,
        middlewares and span cost more CPU than the publish itself. The stored headers already carry the trace
        context the event was emitted in, so the consumer's span continues that trace.
        """
        outcomes: list[Exception | None] = []
        for start in range(0, len(events), PUBLISH_BURST):
            outcomes.extend(await self._publish_burst(events[start : start + PUBLISH_BURST]))
        return outcomes

    async def _publish_burst(self, events: Sequence[Pending]) -> list[Exception | None]:
        js = self._jetstream()
        acks: list[asyncio.Future[Any] | Exception] = []
        for event in events:
            headers = {
                **event.headers,
                "Nats-Msg-Id": str(event.event_id),
                "content-type": "application/json",
                "correlation_id": event.correlation_id,
            }
            try:
                acks.append(
                    await js.publish_async(
                        event.subject,
                        event.body.encode(),
                        # No stall timeout: with one, every publish yields to the event loop, whose flusher then
                        # writes each message to the socket alone (a syscall each); without, the burst goes in one.
                        wait_stall=None,
                        stream=stream_for(event.subject).name,
                        headers=headers,
                    )
                )
            except Exception as exc:  # e.g. the connection is closed
                acks.append(exc)
        waiting = [ack for ack in acks if isinstance(ack, asyncio.Future)]
        if waiting:
            _, late = await asyncio.wait(waiting, timeout=PUBLISH_TIMEOUT)
            for ack in late:  # cancelling frees its slot; the event stays unmarked for the relay
                ack.cancel()
        return [_outcome(ack) for ack in acks]

    def _jetstream(self) -> JetStreamContext:
        connection = self._broker.connection
        if self._js is None or self._js_connection is not connection:
            self._js = connection.jetstream(timeout=PUBLISH_TIMEOUT, publish_async_max_pending=MAX_PENDING)
            self._js_connection = connection
        return self._js

    async def relay(self, interval: float = 1.0) -> None:
        """Mark what was published and publish leftovers, forever (a crash between commit and publish, an outage)."""
        while True:
            try:
                while await self.flush() > 0:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying in %.1fs", interval)
            await asyncio.sleep(interval)


def _insert_statement(table: Table) -> TextClause:
    """Insert many events given as arrays; the JSON arrives as text and Postgres parses it once into JSONB.

    An event already stored is skipped: ids derive from what caused the event, so the same id is the same event
    (a failure raised again on a redelivery, say), stored and published once.
    """
    return text(
        f"INSERT INTO {table.schema}.{table.name} (event_id, subject, payload, headers)"
        " SELECT e, s, p::jsonb, h::jsonb FROM unnest(CAST(:event_ids AS uuid[]), CAST(:subjects AS text[]),"
        " CAST(:payloads AS text[]), CAST(:headers AS text[])) AS t(e, s, p, h)"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
    ).bindparams(
        bindparam("event_ids", type_=ARRAY(Uuid)),
        bindparam("subjects", type_=ARRAY(Text)),
        bindparam("payloads", type_=ARRAY(Text)),
        bindparam("headers", type_=ARRAY(Text)),
    )


def _outcome(ack: asyncio.Future[Any] | Exception) -> Exception | None:
    if isinstance(ack, Exception):
        return ack
    if ack.cancelled():
        return TimeoutError(f"no JetStream acknowledgement within {PUBLISH_TIMEOUT}s")
    error = ack.exception()
    return error if isinstance(error, Exception) or error is None else RuntimeError(repr(error))
