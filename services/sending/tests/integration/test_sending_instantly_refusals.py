"""Instantly refusing to resume or pause a campaign (4xx) holds it once; a refused block list loses no entry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sending_testkit import (
    campaign_id,
    campaign_started,
    email_generated,
    execute,
    instantly_service,
    open_parts,
    publish,
    published,
    query,
    wait_until,
)

from coldstream.fakes.instantly import FakeInstantly, serve
from coldstream_shared.events import CampaignPaused, CampaignResumed
from sending.instantly.blocklist import MirrorBlocklist
from sending.instantly.client import InstantlyClient

pytestmark = pytest.mark.integration
FIRST = ("bob@prospect.com", "carol@prospect.com")
LATER = "dan@other.com"


@pytest.fixture
async def service(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with instantly_service(nats_url, fresh_database_url, tmp_path, flaky_429=0.05) as running:
        yield running


def paused(cid: str, n: int) -> CampaignPaused:
    return CampaignPaused.originate(
        producer="t", key=(cid, "pause", n), campaign_id=cid, reason="checking", paused_by="ops"
    )


def resumed(cid: str, n: int) -> CampaignResumed:
    return CampaignResumed.originate(producer="t", key=(cid, "resume", n), campaign_id=cid, resumed_by="ops")


async def sent(nats_url: str, cid: str, count: int) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        found = await published(nats_url, "email.sent", cid)
        return found if len(found) >= count else []

    return list(await wait_until(probe))


async def running_then_paused_by_ops(service: dict[str, Any]) -> str:
    """A campaign whose first leads reached Instantly, then paused by an operator (at Instantly too)."""
    cid, nats_url, fake = campaign_id(), service["nats"], service["fake"]
    await publish(nats_url, campaign_started(cid, backend="instantly"))
    for email in FIRST:
        await publish(nats_url, email_generated(cid, email))
    await sent(nats_url, cid, len(FIRST))
    await publish(nats_url, paused(cid, 1))

    async def paused_at_instantly() -> bool:
        return [c["status"] for c in fake.campaigns.values()] == [2]

    await wait_until(paused_at_instantly)
    return cid


async def alerts(nats_url: str, cid: str, count: int) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        found = await published(nats_url, "campaign.alert", cid)
        return found if len(found) >= count else []

    return list(await wait_until(probe))


async def waiting(db: str, cid: str, email: str) -> bool:
    """The lead's first touch is held here: scheduled (arrived while paused) or queued for upload, not sent."""
    rows = await query(
        db, "SELECT status FROM sending.send_ledger WHERE step = 1 AND email = :e AND campaign_id = :c", e=email, c=cid
    )
    return [r.status for r in rows] in (["scheduled"], ["queued"])


async def test_a_refused_resume_holds_the_campaign_once_then_a_later_resume_sends_each_lead_once(
    service: dict[str, Any],
) -> None:
    nats_url, db, fake = service["nats"], service["db"], service["fake"]
    cid = await running_then_paused_by_ops(service)
    fake.refuse_campaign_action = {"activate": (401, "Invalid API key")}  # the key was revoked meanwhile
    await publish(nats_url, email_generated(cid, LATER))
    await publish(nats_url, resumed(cid, 1))

    [alert] = await alerts(nats_url, cid, 1)
    assert (alert["kind"], alert["details"]) == ("instantly_rejected", {"status": 401, "call": "activate"})
    assert "Invalid API key" in alert["message"]
    assert f"coldstream campaign resume {cid}" in alert["message"]
    holds = [p for p in await published(nats_url, "campaign.paused", cid) if p["paused_by"] != "ops"]
    assert [p["paused_by"] for p in holds] == ["alert:instantly_rejected"]
    await wait_until(lambda: waiting(db, cid, LATER))
    await asyncio.sleep(4)  # redeliveries and upload rounds would show here
    [campaign] = await query(db, "SELECT paused_reason FROM sending.campaigns WHERE campaign_id = :c", c=cid)
    assert campaign.paused_reason.startswith("alert:instantly_rejected")  # not resumed, as at Instantly
    assert fake.action_calls == {"activate": 2, "pause": 1}  # the refused activate was asked once: no retry loop
    assert await published(nats_url, "dlq.sending.>", cid) == []
    assert await waiting(db, cid, LATER)
    assert LATER not in fake.uploads

    fake.refuse_campaign_action = {}  # the operator fixed the key
    await publish(nats_url, resumed(cid, 2))
    await sent(nats_url, cid, len(FIRST) + 1)
    assert fake.uploads == dict.fromkeys((*FIRST, LATER), 1)
    assert [c["status"] for c in fake.campaigns.values()] == [1]
    assert fake.create_calls == 1
    [open_alerts] = await query(db, "SELECT count(*) AS n FROM sending.campaign_alerts WHERE resolved_at IS NULL")
    assert open_alerts.n == 0


async def test_a_campaign_deleted_at_instantly_is_held_and_never_created_again(service: dict[str, Any]) -> None:
    nats_url, db, fake = service["nats"], service["db"], service["fake"]
    cid = await running_then_paused_by_ops(service)
    fake.campaigns.clear()  # someone deleted it in Instantly's app; Instantly still knows its leads
    await publish(nats_url, email_generated(cid, LATER))
    await publish(nats_url, resumed(cid, 1))

    [alert] = await alerts(nats_url, cid, 1)
    assert alert["details"] == {"status": 404, "call": "activate"}
    assert "does not re-create it" in alert["message"]
    await wait_until(lambda: waiting(db, cid, LATER))
    await publish(nats_url, resumed(cid, 2))  # resuming again without restoring it: refused again, alerted again
    await alerts(nats_url, cid, 2)
    await asyncio.sleep(3)
    assert fake.create_calls == 1  # never a twin campaign: its leads would be emailed a second time
    assert fake.uploads == dict.fromkeys(FIRST, 1)
    assert await waiting(db, cid, LATER)
    assert await published(nats_url, "dlq.sending.>", cid) == []
    assert len(await published(nats_url, "email.sent", cid)) == len(FIRST)


async def test_a_refused_pause_still_pauses_here_and_tells_the_operator(service: dict[str, Any]) -> None:
    cid, nats_url, db, fake = campaign_id(), service["nats"], service["db"], service["fake"]
    await publish(nats_url, campaign_started(cid, backend="instantly"))
    for email in FIRST:
        await publish(nats_url, email_generated(cid, email))
    await sent(nats_url, cid, len(FIRST))
    fake.refuse_campaign_action = {"pause": (403, "API key lacks the campaigns:update scope")}
    await publish(nats_url, paused(cid, 1))

    [alert] = await alerts(nats_url, cid, 1)
    assert alert["details"] == {"status": 403, "call": "pause"}
    assert "Instantly may go on sending" in alert["message"]
    [campaign] = await query(db, "SELECT paused_reason FROM sending.campaigns WHERE campaign_id = :c", c=cid)
    assert campaign.paused_reason == "ops: checking"  # the operator's reason stays
    await asyncio.sleep(3)
    assert fake.action_calls["pause"] == 1
    assert [p["paused_by"] for p in await published(nats_url, "campaign.paused", cid)] == ["ops"]
    assert await published(nats_url, "dlq.sending.>", cid) == []


async def test_a_refused_block_list_is_logged_once_and_mirrored_after_the_key_is_fixed(
    nats_url: str, fresh_database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeInstantly(api_key="k", refuse_blocklist=(401, "Invalid API key"))
    values = ("bob@prospect.com", "spam.example")
    async with open_parts(nats_url, fresh_database_url, tmp_path) as parts:
        for value in values:
            await execute(
                parts.db,
                "INSERT INTO sending.suppressions (value, scope, reason, source) VALUES (:v, 'email', 'test', 'test')",
                v=value,
            )
        with serve(fake) as url:
            client = InstantlyClient("k", base_url=url, base_delay=0.01)
            mirror = MirrorBlocklist(client, parts.runtime.unit_of_work)
            caplog.set_level(logging.DEBUG, logger="sending.instantly.blocklist")
            loop = asyncio.create_task(mirror.run_forever(interval=0.05, max_interval=0.2))
            try:

                async def refused_often() -> bool:
                    return mirror.refusals >= 5

                await wait_until(refused_often)
                errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
                assert len(errors) == 1  # once per outage, not once per attempt
                assert "401" in errors[0].getMessage()
                assert "2 suppressed entries" in errors[0].getMessage()
                rows = await query(parts.db, "SELECT mirrored_at FROM sending.suppressions")
                assert [r.mirrored_at for r in rows] == [None, None]  # nothing given up

                fake.refuse_blocklist = None  # the key is fixed

                async def mirrored() -> bool:
                    rows = await query(
                        parts.db, "SELECT count(*) AS n FROM sending.suppressions WHERE mirrored_at IS NULL"
                    )
                    return rows[0].n == 0

                await wait_until(mirrored)
                assert fake.blocklist == set(values)
                assert mirror.refused is None
            finally:
                loop.cancel()
                await asyncio.gather(loop, return_exceptions=True)
                await client.aclose()


async def test_a_refused_upload_holds_the_campaign_and_queues_its_leads_again(service: dict[str, Any]) -> None:
    nats_url, db, fake = service["nats"], service["db"], service["fake"]
    cid = campaign_id()
    fake.refuse_add_leads = (401, "Invalid API key")  # the key was revoked after the campaign was set up
    await publish(nats_url, campaign_started(cid, backend="instantly"))
    for email in FIRST:
        await publish(nats_url, email_generated(cid, email))

    [alert] = await alerts(nats_url, cid, 1)
    assert (alert["kind"], alert["details"]) == ("instantly_rejected", {"status": 401, "call": "add_leads"})
    for email in FIRST:
        await wait_until(lambda email=email: waiting(db, cid, email))
    assert await published(nats_url, "email.failed", cid) == []  # held, not lost

    fake.refuse_add_leads = None  # the key is fixed
    await publish(nats_url, resumed(cid, 1))
    assert sorted(e["email"] for e in await sent(nats_url, cid, len(FIRST))) == sorted(FIRST)
    assert sorted(lead["email"] for lead in fake.leads.values()) == sorted(FIRST)
