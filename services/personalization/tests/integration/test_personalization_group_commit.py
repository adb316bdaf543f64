"""Group commit against a real Postgres: leads written at the same time share one transaction, each applied once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from personalization_helpers import new_campaign_id, query, started, verified
from sqlalchemy import literal_column, select

from coldstream_shared.events import LeadData, LeadVerified
from coldstream_shared.migrations import upgrade
from coldstream_shared.service import Runtime, build_runtime
from personalization.brief import brief_for, grounding_text
from personalization.campaign import Campaign
from personalization.outcomes import generated_event
from personalization.prompts import BUILTIN
from personalization.quality import GateContext
from personalization.record_campaign import SERVICE, RecordCampaign
from personalization.settings import PersonalizationSettings
from personalization.store import metadata, outbox, sequences
from personalization.store_outcomes import SettledLead, StoreOutcomes
from personalization.template_writer import TemplateWriter
from personalization.variants import write_variant
from personalization.writer import WriteRequest

pytestmark = pytest.mark.integration
WRITER = TemplateWriter()


@pytest.fixture
async def runtime(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    await asyncio.to_thread(upgrade, "personalization", fresh_database_url)
    settings = PersonalizationSettings(nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path)
    runtime = build_runtime(SERVICE, settings, metadata)
    await runtime.broker.connect()  # events committed are published as in the service
    try:
        yield runtime
    finally:
        await runtime.broker.stop()
        await runtime.engine.dispose()
        runtime.tracer_provider.shutdown()


async def settled(campaign: Campaign, event: LeadVerified) -> SettledLead:
    """What the handler hands over for a lead whose one variant passed the gate."""
    brief = brief_for(event, campaign)
    context = GateContext(grounding_text(brief, campaign), brief.personal_terms, campaign.policy.quality_threshold)
    outcome = await write_variant(WRITER, WriteRequest(brief, campaign, BUILTIN, 1), context)
    version = WRITER.prompt_version(BUILTIN)
    assert outcome.passed, outcome.report
    generated = generated_event(WRITER, event, campaign, version, outcome, 1)
    return SettledLead(event, campaign, version, [outcome], outcome, generated)


async def test_concurrent_leads_share_a_transaction_and_a_redelivered_lead_is_skipped(runtime: Runtime) -> None:
    auto, manual = started(new_campaign_id()), started(new_campaign_id(), sending_approval="manual")
    for campaign_started in (auto, manual):
        await RecordCampaign(runtime.unit_of_work)(campaign_started)
    campaigns = {e.campaign_id: Campaign.from_spec(e.campaign_id, e.campaign) for e in (auto, manual)}

    def lead(campaign_id: str, name: str) -> LeadVerified:
        return verified(campaign_id, LeadData(email=f"{name}@{name}.test", first_name=name.title(), company=name))

    events = [lead(auto.campaign_id, name) for name in ("ana", "ben", "cy", "dee")] + [lead(manual.campaign_id, "eve")]
    leads = [await settled(campaigns[e.campaign_id], e) for e in events]
    store = StoreOutcomes(runtime.unit_of_work, WRITER)
    await store(leads[3])  # dee's first delivery: stored and claimed alone

    # Two slots: the first two callers store alone; the rest gather meanwhile and share the next transaction,
    # dee's redelivery among them (written again, as when it raced its first delivery).
    await asyncio.gather(*(store(settled_lead) for settled_lead in leads))

    xmin = literal_column("xmin::text").label("txid")  # the id of the transaction that inserted the row
    rows = await query(
        str(runtime.settings.database_url),
        select(sequences.c.lead_id, sequences.c.status, sequences.c.pending_event, xmin).select_from(sequences),
    )
    by_lead = {row.lead_id: row for row in rows}
    assert len(rows) == len(events), "one row per lead: the redelivery stored nothing"
    ana, ben, cy, dee, eve = (by_lead[e.lead_id] for e in events)
    assert cy.txid == eve.txid, "leads handled at the same time are stored in one transaction"
    assert dee.txid not in {cy.txid, eve.txid}, "the redelivered lead kept its first delivery's row"
    assert [r.status for r in (ana, ben, cy, dee)] == ["generated"] * 4
    assert eve.status == "awaiting_approval"
    assert eve.pending_event["lead_id"] == eve.lead_id

    announced = await query(str(runtime.settings.database_url), select(outbox.c.payload))
    causes = sorted(payload["causation_id"] for (payload,) in announced)
    # One email.generated per auto lead, dee's once; eve's waits for the campaign's approval.
    assert causes == sorted(str(e.event_id) for e in events[:4])
