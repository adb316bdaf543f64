"""Instantly refusing to create our campaign (4xx) holds the campaign: alert, pause, nothing lost, resumable."""

from __future__ import annotations

import asyncio
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
    query,
    wait_until,
)

from coldstream_shared.events import CampaignResumed

pytestmark = pytest.mark.integration
LEADS = ("bob@prospect.com", "carol@prospect.com", "dan@other.com")


@pytest.fixture
async def service(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with instantly_service(nats_url, fresh_database_url, tmp_path, flaky_429=0.05) as running:
        yield running


@pytest.mark.parametrize("refusal", [(400, "invalid schedule"), (403, "API key lacks the campaigns:create scope")])
async def test_a_refused_campaign_is_held_then_resumed_without_losing_a_lead(
    service: dict[str, Any], refusal: tuple[int, str]
) -> None:
    cid, nats_url, db, fake = campaign_id(), service["nats"], service["db"], service["fake"]
    fake.refuse_campaign_create = refusal
    await publish(nats_url, campaign_started(cid, backend="instantly"))
    for email in LEADS:
        await publish(nats_url, email_generated(cid, email))

    [alert] = await wait_until(lambda: published(nats_url, "campaign.alert", cid))
    assert (alert["kind"], alert["details"]) == ("instantly_rejected", {"status": refusal[0], "call": "create"})
    assert refusal[1] in alert["message"]
    assert f"coldstream campaign resume {cid}" in alert["message"]
    assert len(await wait_until(lambda: published(nats_url, "campaign.paused", cid))) == 1

    async def held() -> list[Any]:
        rows = await query(db, "SELECT status FROM sending.send_ledger WHERE step = 1 AND campaign_id = :c", c=cid)
        return rows if len(rows) == len(LEADS) and {r.status for r in rows} == {"queued"} else []

    await wait_until(held)
    [campaign] = await query(db, "SELECT paused_reason FROM sending.campaigns WHERE campaign_id = :c", c=cid)
    assert campaign.paused_reason.startswith("alert:instantly_rejected")
    await asyncio.sleep(5)  # a few upload rounds: a held campaign is not asked for again (no crash loop)
    assert fake.create_calls == 1
    assert await published(nats_url, "email.failed", cid) == []
    assert await published(nats_url, "dlq.sending.>", cid) == []
    assert await held()
    assert fake.uploads == {}

    fake.refuse_campaign_create = None  # the operator fixed the schedule / the key
    await publish(nats_url, CampaignResumed.originate(producer="t", key=cid, campaign_id=cid, resumed_by="ops"))

    async def all_sent() -> list[dict[str, Any]]:
        sent = await published(nats_url, "email.sent", cid)
        return sent if len(sent) >= len(LEADS) else []

    sent = await wait_until(all_sent)
    assert sorted(e["lead_id"] for e in sent) == sorted(email_generated(cid, e).lead_id for e in LEADS)
    assert fake.uploads == dict.fromkeys(LEADS, 1)
    assert fake.create_calls == 2
    [alerts] = await query(db, "SELECT count(*) AS n FROM sending.campaign_alerts WHERE resolved_at IS NULL")
    assert alerts.n == 0  # the resume resolved it
    assert len(await published(nats_url, "campaign.alert", cid)) == 1
