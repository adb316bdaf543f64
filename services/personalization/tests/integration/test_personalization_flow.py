"""Personalization in-process against a real nats-server and Postgres: events in, events and rows out."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.js.client import JetStreamContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream_shared import subjects
from coldstream_shared.campaign import CampaignSpec, Offer, Sending, Sequence, Source, Step
from coldstream_shared.events import CampaignStarted, Event, LeadData, LeadVerified
from coldstream_shared.migrations import upgrade
from personalization.main import create_app
from personalization.settings import PersonalizationSettings
from personalization.store import sequences

pytestmark = pytest.mark.integration

GUARD = 60.0  # seconds: only so a broken run fails instead of hanging, never a performance claim
STEPS = [
    Step(
        subject="{first_name}, an idea for {company}",
        body="Hi {first_name},\n\n{value_proposition}.\n\n{call_to_action}\n\n{sender_name}",
    ),
    Step(subject="Re: {company}", body="Hi {first_name}, bumping this.\n\n{sender_name}", delay_days=3),
]


def started(campaign_id: str, steps: list[Step] | None = None) -> CampaignStarted:
    spec = CampaignSpec(
        id=campaign_id,
        name="Personalization test",
        sources=[Source(path="leads.csv")],
        offer=Offer(product="Acme Reports", value_proposition="Weekly reports in one click"),
        sequence=Sequence(steps=steps or STEPS),
        sending=Sending(from_name="Dana", from_email="dana@acme.test"),
    )
    return CampaignStarted.originate(producer="test", key=campaign_id, campaign_id=campaign_id, campaign=spec)


def verified(campaign_id: str, lead: LeadData) -> LeadVerified:
    lead_id = f"lead-{uuid.uuid4().hex[:12]}"
    return LeadVerified.originate(
        producer="test",
        key=lead_id,
        lead_id=lead_id,
        campaign_id=campaign_id,
        lead=lead,
        verdict="unknown",
        verified_by="syntax-only",
    )


async def publish(js: JetStreamContext, event: Event) -> int:
    ack = await js.publish(
        event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": str(event.event_id)}
    )
    return ack.seq


async def first_match(js: JetStreamContext, subject: str, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first message on `subject` (from the start of its stream) that `match` accepts."""
    sub = await js.subscribe(subject, ordered_consumer=True)
    try:
        async with asyncio.timeout(GUARD):
            async for msg in sub.messages:
                body = json.loads(msg.data)
                if match(body):
                    return body
    finally:
        await sub.unsubscribe()
    raise AssertionError("subscription ended")


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


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


async def stored_sequence(database_url: str, lead_id: str) -> Any:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(sequences).where(sequences.c.lead_id == lead_id))).one()
    finally:
        await engine.dispose()


async def test_verified_lead_becomes_email_generated(service: str, js: JetStreamContext) -> None:
    campaign_id = f"p-{uuid.uuid4().hex[:10]}"
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
    assert generated["variant"] == 1
    assert generated["quality_score"] == 100
    first, second = generated["touches"]
    assert first["subject"] == "Jo, an idea for Globex"
    assert first["body"].startswith("Hi Jo,\n\nWeekly reports in one click.")
    assert (second["step"], second["delay_days"]) == (2, 3)

    row = await stored_sequence(service, lead.lead_id)
    assert (row.campaign_id, row.status, row.writer, row.quality_score) == (campaign_id, "generated", "template", 100)
    assert [t["subject"] for t in row.touches] == [first["subject"], second["subject"]]


async def test_lead_before_its_campaign_is_retried_until_the_campaign_arrives(
    service: str, js: JetStreamContext
) -> None:
    campaign_id = f"p-{uuid.uuid4().hex[:10]}"
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


async def test_sequence_failing_the_gate_rejects_the_lead(service: str, js: JetStreamContext) -> None:
    campaign_id = f"p-{uuid.uuid4().hex[:10]}"
    spammy = [Step(subject="Act now, {first_name}", body="Click here for a guaranteed result.\n\n{sender_name}")]
    await publish(js, started(campaign_id, spammy))
    lead = verified(campaign_id, LeadData(email="jo@globex.test", first_name="Jo"))
    await publish(js, lead)

    rejected = await first_match(js, subjects.LEAD_REJECTED, lambda e: e["lead_id"] == lead.lead_id)
    assert (rejected["stage"], rejected["reason_code"]) == ("personalization", "quality_gate")
    assert "step 1 spam_words" in rejected["reason"]
    assert "click here" in rejected["reason"]
    row = await stored_sequence(service, lead.lead_id)
    assert row.status == "rejected"
    assert row.quality_score < 100


async def test_unknown_placeholder_dead_letters_the_lead_with_the_field_name(
    service: str, js: JetStreamContext
) -> None:
    campaign_id = f"p-{uuid.uuid4().hex[:10]}"
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
