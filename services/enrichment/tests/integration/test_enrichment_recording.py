"""Storing outcomes many per transaction, and the research cache table, against a real Postgres (and NATS)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from coldstream_shared.events import LeadData, LeadScraped
from coldstream_shared.migrations import upgrade
from coldstream_shared.service import Runtime, build_runtime
from enrichment.outcome import EnrichedLead, record_all
from enrichment.research import Research
from enrichment.research_store import SqlResearchStore
from enrichment.settings import EnrichmentSettings
from enrichment.spending import ProviderCall, Spend, SpendLedger
from enrichment.store import metadata, processed, provider_calls, verifications
from enrichment.verification import Verification

pytestmark = pytest.mark.integration


@pytest.fixture
async def runtime(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    await asyncio.to_thread(upgrade, "enrichment", fresh_database_url)
    settings = EnrichmentSettings(nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path)
    runtime = build_runtime("enrichment", settings, metadata)
    await runtime.broker.connect()
    try:
        yield runtime
    finally:
        await runtime.broker.stop()
        await runtime.engine.dispose()


async def no_spend(_: str) -> float:
    return 0.0


def outcome(i: int, ledger: SpendLedger, event: LeadScraped | None = None) -> EnrichedLead:
    event = event or LeadScraped.originate(
        producer="test",
        key=("rec", str(i)),
        lead_id=f"rec-{i}",
        campaign_id="rec",
        lead=LeadData(email=f"p{i}@acme.example"),
        source="test",
    )
    spend = Spend("rec", None, ledger, calls=[ProviderCall("verification", "zerobounce", 1, 0.008, True)])
    return EnrichedLead(event, Verification("invalid", event.lead.email, ["zerobounce: invalid"]), spend)


async def store(runtime: Runtime, outcomes: list[EnrichedLead]) -> None:
    async with runtime.unit_of_work() as uow:
        await record_all(uow, outcomes, "enrichment")
        await uow.commit()


async def count(runtime: Runtime, table) -> int:  # type: ignore[no-untyped-def]
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_a_batch_applies_each_event_once_with_its_cost_rows(runtime: Runtime) -> None:
    ledger = SpendLedger(no_spend)
    first = [outcome(i, ledger) for i in range(3)]
    await store(runtime, first)
    # The next batch repeats lead 0 (a redelivery) twice and brings lead 3: only lead 3 is new.
    await store(runtime, [outcome(0, ledger, first[0].event), outcome(3, ledger), outcome(0, ledger, first[0].event)])
    # The same new event twice inside one batch (a redelivery racing the first delivery) is applied once.
    twin = outcome(4, ledger)
    await store(runtime, [twin, outcome(4, ledger, twin.event)])

    assert await count(runtime, processed) == 5
    assert await count(runtime, verifications) == 5
    assert await count(runtime, provider_calls) == 5, "one cost row per applied lead, none for duplicates"
    async with runtime.sessions() as session:
        spent = await session.scalar(select(func.sum(provider_calls.c.cost_usd)))
    assert float(spent) == pytest.approx(5 * 0.008)


async def test_research_is_saved_and_loaded_per_domain_and_a_newer_one_replaces_it(runtime: Runtime) -> None:
    research_store = SqlResearchStore(runtime.sessions)
    now = datetime.now(UTC)
    older = Research("acme.example", {"industry": "events"}, "Acme", "http://acme.example/", now, now, ["a"])
    newer = Research("acme.example", {"industry": "software"}, None, None, now, now + timedelta(days=1), [])

    assert await research_store.load("acme.example") is None
    await research_store.save(older)
    await research_store.save(newer)

    loaded = await research_store.load("acme.example")
    assert loaded is not None
    assert (loaded.fields, loaded.summary, loaded.expires_at) == ({"industry": "software"}, None, newer.expires_at)
