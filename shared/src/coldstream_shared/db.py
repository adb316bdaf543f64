"""The async database base: one engine per service, tables in the service's own schema, idempotent consumers."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence

from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid, func
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.selectable import TextualSelect

from coldstream_shared.events.envelope import Event
from coldstream_shared.sql import insert_many_or_skip, insert_or_skip

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata(schema: str) -> MetaData:
    """Metadata whose tables all live in the service's schema (no service reads another's)."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def processed_events_table(metadata: MetaData) -> Table:
    """The inbox of applied event ids: written in the same transaction as the effects (promise 4)."""
    return Table(
        "processed_events",
        metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("subject", String(200), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def make_engine(database_url: str, *, service: str, pool_size: int = 10, pooled: bool = True) -> AsyncEngine:
    """An asyncpg engine tagged with the service name (visible in pg_stat_activity)."""
    options: dict[str, object] = {"connect_args": {"server_settings": {"application_name": f"coldstream-{service}"}}}
    if pooled:
        # No pre-ping: it costs a round trip on every checkout. A connection broken by a database restart fails
        # its statement instead; SQLAlchemy then discards the pool's stale connections and the message is retried.
        # pool_size covers a pulled batch being handled at once: connections opened above it are closed on return,
        # and every new connection prepares its statements again (seen as the top cost in a profile at size 5).
        options |= {"pool_size": pool_size, "max_overflow": pool_size, "pool_recycle": 1800}
    else:
        options["poolclass"] = NullPool
    return create_async_engine(database_url, **options)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (we commit before publishing)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def claim_event(session: AsyncSession, processed: Table, event: Event) -> bool:
    """Record that `event` is being applied; False when it already was (a redelivery or a duplicate publish)."""
    result = await session.execute(_claim(processed), {"event_id": event.event_id, "subject": event.subject})
    return result.first() is not None


async def claim_events(session: AsyncSession, processed: Table, events: Sequence[Event]) -> set[uuid.UUID]:
    """`claim_event` for many events in one statement (a group commit); the ids that were not applied before.

    In event-id order, so two batches holding the same redelivered events take their locks in one order and never
    wait for each other in a cycle.
    """
    ordered = sorted({event.event_id: event for event in events}.values(), key=lambda event: event.event_id)
    params = {"event_id": [e.event_id for e in ordered], "subject": [e.subject for e in ordered]}
    return set((await session.execute(_claim_all(processed), params)).scalars())


@functools.cache
def _claim_all(processed: Table) -> TextualSelect:
    return insert_many_or_skip(processed, ("event_id", "subject"), returning="event_id")


@functools.cache
def _claim(processed: Table) -> TextualSelect:
    # Fixed text, compiled once: `postgresql.insert().on_conflict_do_nothing()` is recompiled on every message.
    return insert_or_skip(processed, ("event_id", "subject"), returning="event_id")
