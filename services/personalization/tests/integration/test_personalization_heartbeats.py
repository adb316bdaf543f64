"""A model call longer than the consumer's ack wait: in-progress heartbeats keep JetStream from redelivering."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
import pytest
from personalization_helpers import first_match, new_campaign_id, publish, started, verified, wait_for_campaign
from test_personalization_llm_flow import draft

from coldstream.fakes.anthropic import FakeAnthropic
from coldstream.runtime.nats import NatsServer
from coldstream_shared import subjects
from coldstream_shared.events import LeadData
from coldstream_shared.migrations import upgrade
from personalization.main import create_app
from personalization.settings import PersonalizationSettings

pytestmark = pytest.mark.integration


async def test_a_long_call_is_not_redelivered(
    nats_server_factory: Callable[..., NatsServer], fresh_database_url: str, tmp_path: Path
) -> None:
    # A private nats-server: the durable consumer is created here with the short ack wait under test.
    server = nats_server_factory()
    await asyncio.to_thread(upgrade, "personalization", fresh_database_url)
    async with FakeAnthropic(lambda _: draft(), latency=3.5) as fake:
        settings = PersonalizationSettings(
            nats_url=server.url,
            database_url=fresh_database_url,
            data_dir=tmp_path,
            ANTHROPIC_API_KEY="test-key",
            ANTHROPIC_BASE_URL=fake.base_url,
            lead_ack_wait=1.5,  # the call takes more than twice as long
        )
        app = create_app(settings)
        await app.start()
        nc = await nats.connect(server.url)
        try:
            js = nc.jetstream()
            campaign_id = new_campaign_id()
            await publish(js, started(campaign_id))
            await wait_for_campaign(fresh_database_url, campaign_id)  # so the lead's first delivery is its only one
            lead = verified(campaign_id, LeadData(email="jo@globex.test", first_name="Jo", company="Globex"))
            await publish(js, lead)
            await first_match(js, subjects.EMAIL_GENERATED, lambda e: e["lead_id"] == lead.lead_id)
            info: Any = await js.consumer_info("LEADS", "personalization--lead-verified")
        finally:
            await nc.close()
            await app.stop()
    assert len(fake.requests) == 1  # one call: the lead was never handed to a second worker
    assert info.delivered.consumer_seq == 1  # delivered once: no redelivery while the call ran
