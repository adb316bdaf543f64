"""The transactional outbox on a real nats-server and Postgres: publish after commit, sweep what a crash left."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from faststream.nats import NatsBroker
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from coldstream_shared.db import make_sessionmaker, service_metadata
from coldstream_shared.errors import PermanentError
from coldstream_shared.events import LeadData, LeadScraped
from coldstream_shared.messaging import declare_streams
from coldstream_shared.outbox import Outbox
from coldstream_shared.service import standard_tables
from coldstream_shared.unit_of_work import UnitOfWork
from tests.integration.helpers import collect

pytestmark = pytest.mark.integration


def scraped(campaign: str) -> LeadScraped:
    return LeadScraped.originate(
        producer="test",
        key=(campaign, "ada@example.com"),
        lead_id=f"{campaign}-lead",
        campaign_id=campaign,
        lead=LeadData(email="ada@example.com"),
        source="test",
    )


@dataclass
class Parts:
    sessions: async_sessionmaker[AsyncSession]
    outbox: Outbox
    table: Table
    uow: UnitOfWork


@pytest.fixture
async def parts(nats_url: str, fresh_database_url: str) -> AsyncIterator[Parts]:
    metadata = service_metadata("outbox_test")
    processed, table = standard_tables(metadata)
    engine = create_async_engine(fresh_database_url)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("CREATE SCHEMA outbox_test")
        await conn.run_sync(metadata.create_all)
    broker = NatsBroker(nats_url)
    await declare_streams(broker)
    sessions = make_sessionmaker(engine)
    outbox = Outbox(table, sessions, broker)
    try:
        yield Parts(sessions, outbox, table, UnitOfWork(sessions, processed, outbox))
    finally:
        await broker.stop()
        await engine.dispose()


async def published_at(parts: Parts, event: LeadScraped) -> object:
    async with parts.sessions() as session:
        return await session.scalar(select(parts.table.c.published_at).where(parts.table.c.event_id == event.event_id))


async def test_a_committed_event_is_published_at_once_and_marked_by_the_next_relay_round(
    parts: Parts, nats_url: str
) -> None:
    event = scraped(f"outbox-{uuid.uuid4().hex[:8]}")
    async with parts.uow as uow:
        uow.emit(event)
        await uow.commit()
    seen = await collect(nats_url, "lead.scraped", lambda p: p.get("event_id") == str(event.event_id), settle=0)
    assert len(seen) == 1
    assert await published_at(parts, event) is None, "marked in bulk, not by an extra query per transaction"
    assert await parts.outbox.flush() == 0, "nothing left to sweep"
    assert await published_at(parts, event) is not None


async def test_an_event_whose_transaction_crashed_before_publishing_is_swept_by_the_relay(
    parts: Parts, nats_url: str
) -> None:
    event = scraped(f"outbox-{uuid.uuid4().hex[:8]}")
    async with parts.sessions() as session, session.begin():  # what a crash right after the commit leaves
        await parts.outbox.add(session, [(event, {})])
    assert await parts.outbox.flush() == 0, "young rows belong to the transaction that is publishing them"
    assert await parts.outbox.flush(older_than=timedelta(0)) == 1
    seen = await collect(nats_url, "lead.scraped", lambda p: p.get("event_id") == str(event.event_id), settle=0)
    assert len(seen) == 1
    assert await published_at(parts, event) is not None


async def test_an_event_is_published_even_when_the_caller_fails_after_committing(parts: Parts, nats_url: str) -> None:
    event = scraped(f"outbox-{uuid.uuid4().hex[:8]}")

    async def fail_after_commit() -> None:
        async with parts.uow as uow:
            uow.emit(event)
            await uow.commit()
            raise RuntimeError("after the commit")

    with pytest.raises(RuntimeError):
        await fail_after_commit()
    seen = await collect(nats_url, "lead.scraped", lambda p: p.get("event_id") == str(event.event_id), settle=0)
    assert len(seen) == 1


async def test_a_burst_of_published_ids_is_marked_in_one_statement(parts: Parts) -> None:
    # A 100k-row import publishes faster than the relay's round: more ids than asyncpg's 32,767 parameters.
    event = scraped(f"outbox-{uuid.uuid4().hex[:8]}")
    async with parts.sessions() as session, session.begin():
        await parts.outbox.add(session, [(event, {})])
    parts.outbox._published.update([event.event_id, *(uuid.uuid4() for _ in range(40_000))])
    await parts.outbox.mark_published()
    assert await published_at(parts, event) is not None


async def test_an_event_that_cannot_be_written_as_json_is_refused_for_good(parts: Parts) -> None:
    event = scraped(f"outbox-{uuid.uuid4().hex[:8]}")
    event = event.model_copy(update={"lead": event.lead.model_copy(update={"first_name": "x\udfffy"})})
    async with parts.uow as uow:
        uow.emit(event)
        with pytest.raises(PermanentError, match="cannot be written as JSON"):
            await uow.commit()
