"""Transactional outbox: events are stored with the state change that caused them and published after commit.

Without it, a crash between "commit" and "publish" loses the downstream event while the redelivered input is
skipped as already applied: a lost lead. With it, whatever was committed is published eventually, by the
handler right after its commit or by the relay loop that sweeps leftovers. A publish may repeat; the
deterministic `Nats-Msg-Id` and the consumers' processed-event tables absorb that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from faststream.nats import NatsBroker
from opentelemetry import context as otel_context
from opentelemetry import propagate
from sqlalchemy import JSON, Column, DateTime, Index, MetaData, String, Table, Uuid, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from coldstream_shared.events.envelope import Event
from coldstream_shared.streams import stream_for

log = logging.getLogger(__name__)

# JetStream acknowledges a publish only once it is on disk (sync_interval: always); FastStream's default 0.5 s
# is too short for that under load, and a timed-out publish costs a whole relay round.
PUBLISH_TIMEOUT = 5.0
PUBLISH_CONCURRENCY = 32


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


class Outbox:
    """Stores events inside a transaction and publishes them once committed."""

    def __init__(self, table: Table, sessions: async_sessionmaker[AsyncSession], broker: NatsBroker) -> None:
        self._table = table
        self._sessions = sessions
        self._broker = broker

    async def add(self, session: AsyncSession, events: Iterable[tuple[Event, dict[str, str]]]) -> None:
        """Store events in the caller's transaction, each with the trace context it was emitted in."""
        rows = [
            {
                "event_id": e.event_id,
                "subject": e.subject,
                "payload": e.model_dump(mode="json"),
                "headers": carrier,
            }
            for e, carrier in events
        ]
        if rows:
            await session.execute(self._table.insert(), rows)

    async def flush(self, limit: int = 500) -> int:
        """Publish pending events (oldest first); returns how many went out."""
        table = self._table
        async with self._sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(table.c.event_id, table.c.subject, table.c.payload, table.c.headers)
                    .where(table.c.published_at.is_(None))
                    .order_by(table.c.created_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            # Bounded: hundreds of simultaneous publishes on a loaded machine time out together.
            gate = asyncio.Semaphore(PUBLISH_CONCURRENCY)

            async def publish(row: Any) -> None:
                async with gate:
                    await self._publish(*row)

            await asyncio.gather(*(publish(row) for row in rows))
            await session.execute(
                update(table).where(table.c.event_id.in_([r.event_id for r in rows])).values(published_at=func.now())
            )
        return len(rows)

    async def _publish(self, event_id: Any, subject: str, payload: dict[str, Any], headers: dict[str, str]) -> None:
        # Continue the trace of the transaction that stored the event, even when the relay publishes it later.
        token = otel_context.attach(propagate.extract(headers))
        try:
            await self._broker.publish(
                payload,
                subject=subject,
                stream=stream_for(subject).name,
                headers={"Nats-Msg-Id": str(event_id)},
                correlation_id=str(payload.get("correlation_id") or event_id),
                timeout=PUBLISH_TIMEOUT,
            )
        finally:
            otel_context.detach(token)

    async def relay(self, interval: float = 1.0) -> None:
        """Publish leftovers forever (a crash between commit and publish, a NATS outage)."""
        while True:
            try:
                while await self.flush() > 0:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying in %.1fs", interval)
            await asyncio.sleep(interval)
