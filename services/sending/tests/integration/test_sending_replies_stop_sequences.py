"""Replies stop (or postpone) the rest of a sequence; hard bounces over the threshold pause the campaign."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sending_testkit import Parts, campaign_id, campaign_started, email_generated, open_parts, published, query

from coldstream_shared.events import CampaignApproved, LeadBounced, ReplyClassified
from coldstream_shared.ids import lead_id_for
from sending.approve_sending import ApproveSending
from sending.dispatch import Dispatcher
from sending.follow_ups import SendDueTouches
from sending.remember_campaign import RememberCampaign
from sending.send_sequence import SendSequence
from sending.stop_sequence import StopSequence
from sending.watch_bounces import WatchBounces

pytestmark = pytest.mark.integration


@pytest.fixture
async def parts(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Parts]:
    sending = {"stop_for_company": True, "bounce_threshold": 0.2, "bounce_min_sent": 4}
    async with open_parts(nats_url, fresh_database_url, tmp_path, **sending) as opened:
        yield opened


def classified(parts: Parts, email: str, category: str, return_date: date | None = None) -> ReplyClassified:
    lead_id = lead_id_for(parts.cid, email)
    return ReplyClassified.originate(
        producer="test",
        key=(lead_id, category),
        lead_id=lead_id,
        campaign_id=parts.cid,
        email=email,
        category=category,
        confidence=0.9,
        reasoning="test",
        return_date=return_date,
        classifier="rules/v1",
    )


async def send_first_touches(parts: Parts, *emails: str) -> tuple[SendSequence, SendDueTouches]:
    dispatcher = Dispatcher(parts.runtime.unit_of_work, {"file": parts.mailer()}, clock=parts.clock)
    send = SendSequence(dispatcher, parts.runtime.unit_of_work)
    for email in emails:
        await send(email_generated(parts.cid, email))
    return send, SendDueTouches(dispatcher, parts.runtime.unit_of_work, clock=parts.clock)


async def statuses(parts: Parts) -> dict[tuple[str, int], str]:
    rows = await query(parts.db, "SELECT email, step, status FROM sending.send_ledger")
    return {(r.email, r.step): r.status for r in rows}


async def test_a_human_reply_cancels_the_whole_company_when_the_campaign_says_so(parts: Parts) -> None:
    _, sweep = await send_first_touches(parts, "ann@acme.com", "ben@acme.com", "cat@other.com")
    stop = StopSequence(parts.runtime.unit_of_work)
    event = classified(parts, "ann@acme.com", "not_interested")
    await stop(event)
    await stop(event)  # a redelivery changes nothing
    parts.clock.advance(days=10)
    await sweep()
    found = await statuses(parts)
    assert found[("ann@acme.com", 2)] == "cancelled"
    assert found[("ben@acme.com", 2)] == "cancelled"  # same company domain
    assert found[("cat@other.com", 2)] == "sent"
    cancelled = await published(parts.nats, "email.cancelled", parts.cid)
    assert sorted((c["lead_id"], tuple(c["steps"])) for c in cancelled) == sorted(
        [(lead_id_for(parts.cid, "ann@acme.com"), (2,)), (lead_id_for(parts.cid, "ben@acme.com"), (2,))]
    )


@pytest.mark.parametrize("category", ["auto_reply", "bounce", "out_of_office"])
async def test_machine_replies_do_not_cancel(parts: Parts, category: str) -> None:
    await send_first_touches(parts, "ann@acme.com")
    await StopSequence(parts.runtime.unit_of_work)(classified(parts, "ann@acme.com", category))
    assert (await statuses(parts))[("ann@acme.com", 2)] == "scheduled"


async def test_out_of_office_postpones_the_next_touch_past_the_return_date(parts: Parts) -> None:
    _, sweep = await send_first_touches(parts, "ann@acme.com")
    back = (parts.clock.now + timedelta(days=20)).date()
    await StopSequence(parts.runtime.unit_of_work)(classified(parts, "ann@acme.com", "out_of_office", back))
    parts.clock.advance(days=10)  # the original delay (3 business days) has passed
    await sweep()
    assert (await statuses(parts))[("ann@acme.com", 2)] == "scheduled"
    parts.clock.advance(days=12)
    await sweep()
    assert (await statuses(parts))[("ann@acme.com", 2)] == "sent"


async def test_a_bounce_rate_over_the_threshold_pauses_the_campaign(parts: Parts) -> None:
    emails = [f"p{i}@prospect{i}.com" for i in range(5)]
    _, sweep = await send_first_touches(parts, *emails)
    watch = WatchBounces(parts.runtime.unit_of_work, clock=parts.clock)
    for email in emails[:2]:  # 2 of 5 = 40% > 20%
        await watch(LeadBounced.originate(producer="t", key=email, email=email, campaign_id=parts.cid))
    [alert] = await published(parts.nats, "campaign.alert", parts.cid)
    assert alert["kind"] == "bounce_rate"
    [paused] = await published(parts.nats, "campaign.paused", parts.cid)
    assert paused["paused_by"] == "alert:bounce_rate"
    parts.clock.advance(days=10)
    await sweep()  # nothing leaves a paused campaign
    assert {s for (_, step), s in (await statuses(parts)).items() if step == 2} == {"scheduled"}
    [row] = await query(parts.db, "SELECT kind, action_taken FROM sending.campaign_alerts")
    assert (row.kind, row.action_taken) == ("bounce_rate", "paused")


async def test_held_first_touches_leave_once_sending_is_approved(parts: Parts) -> None:
    cid = campaign_id()
    await RememberCampaign(parts.runtime.unit_of_work)(campaign_started(cid, approval="manual"))
    mailer = parts.mailer()
    dispatcher = Dispatcher(parts.runtime.unit_of_work, {"file": mailer}, clock=parts.clock)
    await SendSequence(dispatcher, parts.runtime.unit_of_work)(email_generated(cid, "ann@acme.com"))
    sweep = SendDueTouches(dispatcher, parts.runtime.unit_of_work, clock=parts.clock)
    await sweep()
    assert mailer.deliveries == 0
    approved = CampaignApproved.originate(
        producer="t", key=(cid, "sending"), campaign_id=cid, stage="sending", approved_by="ops"
    )
    await ApproveSending(parts.runtime.unit_of_work, clock=parts.clock)(approved)
    await sweep()
    assert mailer.deliveries == 1
    await SendSequence(dispatcher, parts.runtime.unit_of_work)(email_generated(cid, "ben@acme.com"))
    assert mailer.deliveries == 2  # after approval, sequences go out at once
