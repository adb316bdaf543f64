"""Personalization in-process against a real nats-server and Postgres, template writer: events in, rows out."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js.client import JetStreamContext
from personalization_helpers import (
    GUARD,
    first_match,
    new_campaign_id,
    publish,
    query,
    started,
    stored_sequences,
    verified,
)
from sqlalchemy import select

from coldstream_shared import subjects
from coldstream_shared.campaign import PersonalizationPolicy, Step
from coldstream_shared.events import LeadData
from coldstream_shared.migrations import upgrade
from personalization.main import create_app
from personalization.settings import PersonalizationSettings
from personalization.store import campaigns

pytestmark = pytest.mark.integration


@pytest.fixture
async def service(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated fresh database and the running personalization app; yields the database URL."""
    await asyncio.to_thread(upgrade, "personalization", fresh_database_url)
    app = create_app(PersonalizationSettings(nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path))
    await app.start()
    try:
        yield fresh_database_url
    finally:
        await app.stop()


async def test_verified_lead_becomes_email_generated(service: str, js: JetStreamContext) -> None:
    campaign_id = new_campaign_id()
    await publish(js, started(campaign_id))
    lead = verified(campaign_id, LeadData(email="jo@globex.test", first_name="Jo", company="Globex"))
    await publish(js, lead)

    generated = await first_match(js, subjects.EMAIL_GENERATED, lambda e: e["lead_id"] == lead.lead_id)
    assert generated["causation_id"] == str(lead.event_id)
    assert (generated["writer"], generated["model"], generated["prompt_version"]) == (
        "template",
        "template-writer/v1",
        "template/v1",
    )
    assert (generated["variant"], generated["variants"]) == (1, 1)
    assert generated["quality_score"] == 100, generated["quality_breakdown"]
    first, second = generated["touches"]
    assert first["subject"] == "Jo, an idea for Globex"
    assert first["body"].startswith("Hi Jo,\n\nWeekly reports in one click.")
    assert (second["step"], second["delay_days"]) == (2, 3)

    (row,) = await stored_sequences(service, lead.lead_id)
    assert (row.campaign_id, row.status, row.writer, row.quality_score) == (campaign_id, "generated", "template", 100)
    assert row.selected
    assert row.published_at is not None
    assert [t["subject"] for t in row.touches] == [first["subject"], second["subject"]]


async def test_lead_before_its_campaign_is_retried_until_the_campaign_arrives(
    service: str, js: JetStreamContext
) -> None:
    campaign_id = new_campaign_id()
    lead = verified(campaign_id, LeadData(email="someone@nowhere.test"))
    seq = await publish(js, lead)
    # Wait until personalization has been handed the lead, so it really meets an unknown campaign first.
    async with asyncio.timeout(GUARD):
        while (await js.consumer_info("LEADS", "personalization--lead-verified")).delivered.stream_seq < seq:
            await asyncio.sleep(0.05)
    await publish(js, started(campaign_id))

    generated = await first_match(js, subjects.EMAIL_GENERATED, lambda e: e["lead_id"] == lead.lead_id)
    assert generated["touches"][0]["subject"] == "An idea for your team"
    assert generated["touches"][0]["body"].startswith("Hi there,")


async def test_sequence_below_the_threshold_is_held_with_its_reasons(service: str, js: JetStreamContext) -> None:
    campaign_id = new_campaign_id()
    spammy = [Step(subject="Act now, {first_name}", body="Click here for a guaranteed result.\n\n{sender_name}")]
    await publish(js, started(campaign_id, spammy, policy=PersonalizationPolicy(quality_threshold=90)))
    lead = verified(campaign_id, LeadData(email="jo@globex.test", first_name="Jo"))
    await publish(js, lead)

    held = await first_match(js, subjects.EMAIL_HELD, lambda e: e["lead_id"] == lead.lead_id)
    assert held["reason_code"] == "quality_gate"
    assert held["quality_score"] < 90
    assert any("step 1 spam_words" in r and "click here" in r for r in held["reasons"])
    (row,) = await stored_sequences(service, lead.lead_id)
    assert (row.status, row.reason_code, row.attempts) == ("held", "quality_gate", 1)


async def test_unknown_placeholder_dead_letters_the_lead_with_the_field_name(
    service: str, js: JetStreamContext
) -> None:
    campaign_id = new_campaign_id()
    await publish(js, started(campaign_id, [Step(subject="Hi {firstname}", body="Hello\n\n{sender_name}")]))
    alert = await first_match(js, subjects.CAMPAIGN_ALERT, lambda e: e["campaign_id"] == campaign_id)
    assert alert["kind"] == "template_error"
    assert "{firstname}" in alert["message"]

    lead = verified(campaign_id, LeadData(email="jo@globex.test", first_name="Jo"))
    await publish(js, lead)
    dead = await first_match(
        js, "dlq.personalization.lead.verified", lambda d: json.loads(d["original_body"])["lead_id"] == lead.lead_id
    )
    assert dead["error_type"] == "PermanentError"
    assert "{firstname}" in dead["error"]


async def test_a_restarted_campaign_writes_later_leads_with_its_new_templates(
    service: str, js: JetStreamContext
) -> None:
    # The projection is parsed once per version and kept: a re-applied campaign.started must still reach the
    # very next lead (the cache follows the row's updated_at, whichever replica stored it).
    campaign_id = new_campaign_id()
    await publish(js, started(campaign_id))
    person = LeadData(email="jo@globex.test", first_name="Jo", company="Globex")
    before = verified(campaign_id, person)
    await publish(js, before)
    generated = await first_match(js, subjects.EMAIL_GENERATED, lambda e: e["lead_id"] == before.lead_id)
    assert generated["touches"][0]["subject"] == "Jo, an idea for Globex"

    body = "Hi {first_name},\n\n{value_proposition}.\n\n{sender_name}"
    steps = [Step(subject="A new angle for {company}", body=body)]
    restarted = started(campaign_id, steps).model_copy(update={"event_id": uuid.uuid4()})  # a new event, not a copy
    await publish(js, restarted)
    stored_steps = select(campaigns.c.steps).where(campaigns.c.campaign_id == campaign_id)
    async with asyncio.timeout(GUARD):
        while (await query(service, stored_steps))[0].steps[0]["subject"] != steps[0].subject:
            await asyncio.sleep(0.05)
    after = verified(campaign_id, person)
    await publish(js, after)
    generated = await first_match(js, subjects.EMAIL_GENERATED, lambda e: e["lead_id"] == after.lead_id)
    assert [touch["subject"] for touch in generated["touches"]] == ["A new angle for Globex"]
