"""`coldstream campaign status`: per-stage counts, totals known once the previous stage finished, rates, ETA."""

from __future__ import annotations

import asyncio
import json
import uuid

import nats
from typer.testing import CliRunner

from coldstream.campaign_status import CampaignStatus
from coldstream.cli import app
from coldstream_shared.streams import ensure_streams, stream_for


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def _event(subject: str, campaign: str, lead: str, **fields: object) -> tuple[str, dict[str, object]]:
    return subject, {"campaign_id": campaign, "lead_id": lead, "event_id": f"{subject}-{lead}", **fields}


def test_stages_totals_rates_and_eta() -> None:
    clock = Clock()
    status = CampaignStatus("c1", clock=clock)
    status.visit("campaign.progress", {"campaign_id": "c1", "rows_read": 4, "rows_total": 10}, {})
    for i in range(10):
        clock.now += 1
        subject = "lead.scraped" if i < 8 else "lead.rejected"
        status.visit(*_event(subject, "c1", f"l{i}", stage="discovery"), {})
    status.visit("campaign.imported", {"campaign_id": "c1", "rows_read": 10}, {})
    for i in range(4):
        clock.now += 0.5
        status.visit(*_event("lead.verified", "c1", f"l{i}"), {})
    status.visit(*_event("lead.verified", "other-campaign", "x"), {})
    snap = status.snapshot()["stages"]
    assert snap["imported"]["done"] == 10
    assert snap["imported"]["total"] == 10
    assert snap["verified"] == {"done": 4, "total": 8, "per_second": 2.0, "eta_seconds": 2.0}
    assert snap["generated"]["total"] is None, "unknown until verification has finished"


def test_follow_up_touches_do_not_count_as_sent_leads() -> None:
    status = CampaignStatus("c2")
    status.visit(*_event("email.sent", "c2", "l1", step=1), {})
    status.visit(*_event("email.sent", "c2", "l1", step=2), {})
    status.visit(*_event("email.suppressed", "c2", "l2", step=1), {})
    assert status.snapshot()["stages"]["sent"]["done"] == 2


async def test_json_snapshot_from_the_streams(nats_url: str) -> None:
    campaign = f"status-{uuid.uuid4().hex[:8]}"
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    for i in range(3):
        subject, body = _event("lead.scraped", campaign, f"{campaign}-{i}")
        await js.publish(subject, json.dumps(body).encode(), stream=stream_for(subject).name)
    await nc.close()
    args = ["campaign", "status", campaign, "--json", "--nats-url", nats_url]
    result = await asyncio.to_thread(CliRunner().invoke, app, args)
    assert result.exit_code == 0, result.output
    # stdout only: stderr may carry a stray log line from an app another test left behind
    assert json.loads(result.stdout)["stages"]["imported"]["done"] == 3
