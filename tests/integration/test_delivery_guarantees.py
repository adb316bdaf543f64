"""The messaging promises on a real nats-server and Postgres: applied once, retried with delay, dead-lettered."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream_shared.dead_letters import RetryPolicy
from coldstream_shared.errors import TransientError
from coldstream_shared.events import LeadData, LeadScraped
from coldstream_shared.messaging import declare_streams, durable, make_broker
from coldstream_shared.migrations import upgrade
from enrichment.main import create_app
from enrichment.settings import EnrichmentSettings
from enrichment.store import verifications
from tests.integration.helpers import collect, publish_event, publish_raw

pytestmark = pytest.mark.integration


def scraped(campaign: str, email: str = "ada@example.com") -> LeadScraped:
    return LeadScraped.originate(
        producer="test",
        key=(campaign, email),
        lead_id=f"{campaign}-lead",
        campaign_id=campaign,
        lead=LeadData(email=email),
        source="test",
    )


@pytest.fixture
async def enrichment(nats_url: str, fresh_database_url: str, tmp_path: Path):
    await asyncio.to_thread(upgrade, "enrichment", fresh_database_url)
    app = create_app(EnrichmentSettings(nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path))
    async with app:
        yield fresh_database_url


async def test_an_event_published_twice_is_applied_once(enrichment: str, nats_url: str) -> None:
    campaign = f"c-{uuid.uuid4().hex[:8]}"
    event = scraped(campaign)
    assert await publish_event(nats_url, event)
    assert not await publish_event(nats_url, event), "JetStream's duplicate window drops the same Nats-Msg-Id"
    # A republish outside the window (simulated with another Nats-Msg-Id) reaches the consumer, which skips it.
    assert await publish_event(nats_url, event, msg_id=f"late-republish-{uuid.uuid4()}")

    verified = await collect(nats_url, "lead.verified", lambda p: p["campaign_id"] == campaign, settle=2.0)
    assert len(verified) == 1
    engine = create_async_engine(enrichment)
    async with engine.connect() as conn:
        rows = await conn.scalar(
            select(func.count()).select_from(verifications).where(verifications.c.campaign_id == campaign)
        )
    await engine.dispose()
    assert rows == 1


async def test_a_poison_event_reaches_the_dead_letter_stream_with_its_cause(enrichment: str, nats_url: str) -> None:
    marker = uuid.uuid4().hex
    await publish_raw(nats_url, "lead.scraped", json.dumps({"not_an_event": marker}).encode(), msg_id=marker)
    letters = await collect(nats_url, "dlq.enrichment.lead.scraped", lambda p: marker in p["original_body"])
    assert len(letters) == 1
    letter = letters[0]
    assert letter["service"] == "enrichment"
    assert letter["original_subject"] == "lead.scraped"
    assert letter["error_type"] == "ValidationError"
    assert "Field required" in letter["error"]
    assert letter["original_headers"]["Nats-Msg-Id"] == marker


async def test_transient_failures_retry_with_growing_delay_then_dead_letter(nats_url: str) -> None:
    subject = f"lead.test-{uuid.uuid4().hex[:8]}"
    policy = RetryPolicy(max_deliver=4, base_delay=0.2, max_delay=2.0)
    broker = make_broker(nats_url, service="probe", retry=policy)
    attempts: dict[str, list[float]] = {"flaky": [], "dead": []}

    @durable(broker, subject, service="probe", policy=policy, batch_size=4)
    async def handler(body: dict) -> None:
        attempts[body["kind"]].append(asyncio.get_running_loop().time())
        if body["kind"] == "dead" or len(attempts["flaky"]) < 3:
            raise TransientError("provider unavailable")

    await declare_streams(broker)
    async with broker:
        await broker.start()
        await publish_raw(nats_url, subject, b'{"kind": "flaky"}', msg_id=f"{subject}-flaky")
        await publish_raw(nats_url, subject, b'{"kind": "dead"}', msg_id=f"{subject}-dead")
        letters = await collect(nats_url, f"dlq.probe.{subject}", timeout=20)

    assert len(attempts["flaky"]) == 3, "succeeds on the third delivery and is not dead-lettered"
    assert len(attempts["dead"]) == policy.max_deliver
    gaps = [b - a for a, b in zip(attempts["dead"], attempts["dead"][1:], strict=False)]
    assert all(gap >= 0.09 for gap in gaps), f"never redelivered at once: {gaps}"
    assert len(letters) == 1
    assert letters[0]["deliveries"] == policy.max_deliver
    assert letters[0]["error_type"] == "TransientError"
