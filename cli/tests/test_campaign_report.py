"""`coldstream campaign report`: figures computed from a campaign's events, and the HTML page in a real browser."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest

from coldstream.campaign_report import campaign_report
from coldstream.report_html import render
from coldstream_shared.events import (
    CampaignImported,
    EmailGenerated,
    EmailSent,
    Event,
    LeadBounced,
    LeadData,
    LeadScraped,
    LeadUnsubscribed,
    ReplyClassified,
    Touch,
)
from coldstream_shared.ids import lead_id_for
from coldstream_shared.streams import ensure_streams, stream_for

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


async def _publish(nats_url: str, events: list[Event]) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        for event in events:
            await js.publish(
                event.subject,
                event.model_dump_json().encode(),
                stream=stream_for(event.subject).name,
                headers={"Nats-Msg-Id": str(event.event_id)},
            )
    finally:
        await nc.close()


def _campaign_events(campaign: str) -> list[Event]:
    """Six leads: variants 1/2 alternate, prompt v1/v2; replies, a bounce and an unsubscribe."""
    events: list[Event] = [
        CampaignImported.originate(
            producer="discovery", key=campaign, campaign_id=campaign, rows_read=6, published=6, rejected=0, duplicates=0
        )
    ]
    replies = {0: "interested", 1: "not_interested", 2: "out_of_office", 3: "meeting_request"}
    for i in range(6):
        email = f"p{i}@{campaign}.io"
        lead = lead_id_for(campaign, email)
        common: dict[str, Any] = {"lead_id": lead, "campaign_id": campaign}
        events.append(
            LeadScraped.originate(producer="discovery", key=lead, lead=LeadData(email=email), source="csv", **common)
        )
        events.append(
            EmailGenerated.originate(
                producer="personalization",
                key=lead,
                lead=LeadData(email=email),
                touches=[Touch(step=1, subject="s", body="b")],
                variant=1 + i % 2,
                writer="template",
                model="template-writer/v1",
                prompt_version="v1" if i < 3 else "v2",
                quality_score=90,
                **common,
            )
        )
        for step in (1, 2):
            events.append(
                EmailSent.originate(
                    producer="sending",
                    key=(lead, step),
                    occurred_at=T0 + timedelta(days=3 * (step - 1)),
                    email=email,
                    step=step,
                    backend="file",
                    message_id=f"<{i}.{step}@x>",
                    **common,
                )
            )
        if i in replies:
            events.append(
                ReplyClassified.originate(
                    producer="replies",
                    key=lead,
                    occurred_at=T0 + timedelta(days=1 if i < 2 else 4),
                    email=email,
                    category=replies[i],
                    confidence=0.9,
                    reasoning="test",
                    classifier="rules/v1",
                    **common,
                )
            )
    events.append(LeadBounced.originate(producer="replies", key=f"b{campaign}", email=f"p4@{campaign}.io"))
    events.append(
        LeadUnsubscribed.originate(producer="replies", key=f"u{campaign}", email=f"p5@{campaign}.io", source="link")
    )
    return events


@pytest.fixture
async def report(nats_url: str) -> dict[str, Any]:
    campaign = f"report-{uuid.uuid4().hex[:8]}"
    await _publish(nats_url, _campaign_events(campaign))
    return await campaign_report(nats_url, campaign, costs={"anthropic/claude-sonnet-4-6": 0.06})


def test_figures_add_up(report: dict[str, Any]) -> None:
    assert report["funnel"]["sent"] == 6
    assert report["reply_categories"] == {
        "interested": 1,
        "not_interested": 1,
        "out_of_office": 1,
        "meeting_request": 1,
    }
    assert report["reply_rate"] == {"hits": 3, "base": 6, "rate": 0.5}, "out-of-office is not a human reply"
    assert report["positive_rate"]["hits"] == 2
    assert report["reply_rate_by_step"]["1"] == {"hits": 2, "base": 6, "rate": 0.3333}
    assert report["reply_rate_by_step"]["2"] == {"hits": 1, "base": 6, "rate": 0.1667}
    assert report["bounce_rate"]["hits"] == 1
    assert report["unsubscribe_rate"]["hits"] == 1
    assert report["by_prompt_version"]["v1"]["positive"] == 1
    assert report["by_prompt_version"]["v2"]["positive"] == 1
    assert report["by_variant"]["1"]["contacted"] == 3
    assert report["cost_per_lead_usd"] == 0.01


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_the_html_page_renders_in_a_headless_browser(report: dict[str, Any], tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must provide Chromium (.ci/run installs Debian's chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    page = tmp_path / "report.html"
    page.write_text(render(report), encoding="utf-8")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=90, check=True
    ).stdout
    for chart in ("Funnel", "Reply categories", "Reply rate by step", "Cost by provider and model (USD)"):
        assert f'aria-label="{chart}"' in dom
    assert "50.0%" in dom, "the reply-rate KPI is on the page"
    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1100,1600", page.as_uri()],
        capture_output=True,
        timeout=90,
        check=True,
    )
    assert shot.stat().st_size > 20_000, "a rendered page with charts, not a blank screenshot"
