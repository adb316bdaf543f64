"""The sending service in-process with an Instantly key, against the fake API: events in, Instantly calls out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sending_testkit import (
    campaign_id,
    campaign_started,
    email_generated,
    instantly_service,
    publish,
    published,
    wait_until,
)

from coldstream_shared.events import CampaignPaused, ReplyClassified

pytestmark = pytest.mark.integration


@pytest.fixture
async def service(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with instantly_service(nats_url, fresh_database_url, tmp_path, flaky_429=0.1) as running:
        yield running


async def test_events_drive_the_instantly_campaign(service: dict[str, Any]) -> None:
    cid, nats_url, fake = campaign_id(), service["nats"], service["fake"]
    await publish(nats_url, campaign_started(cid, backend="instantly"))
    generated = email_generated(cid, "bob@prospect.com")
    await publish(nats_url, generated)

    [sent] = await wait_until(lambda: published(nats_url, "email.sent", cid))
    assert sent["backend"] == "instantly"
    assert sent["message_id"] in fake.leads
    assert fake.uploads == {"bob@prospect.com": 1}

    reply = ReplyClassified.originate(
        producer="test",
        key=(generated.lead_id, "interested"),
        lead_id=generated.lead_id,
        campaign_id=cid,
        email="bob@prospect.com",
        category="interested",
        confidence=0.9,
        reasoning="wants a call",
        classifier="rules/v1",
    )
    await publish(nats_url, reply)
    [cancelled] = await wait_until(lambda: published(nats_url, "email.cancelled", cid))
    assert cancelled["steps"] == [2]

    await publish(
        nats_url, CampaignPaused.originate(producer="t", key=cid, campaign_id=cid, reason="review", paused_by="ops")
    )
    [campaign] = fake.campaigns.values()

    async def paused_at_instantly() -> bool:
        return campaign["status"] == 2

    await wait_until(paused_at_instantly)
