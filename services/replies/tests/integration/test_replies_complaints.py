"""Spam complaints feed the suppression list: a complaint reply (or an ARF abuse report) suppresses the address
for good with the reason `complaint`, and the sending service sends that lead nothing more.

Instantly has no complaint webhook: replies are where complaints show up. Both services run here, on one NATS
and one database (each in its own schema), as in the stack.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from replies_helpers import eventually, matching, post, publish, rows, unique_email, webhook
from sqlalchemy import text

from coldstream_shared import subjects
from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.events import CampaignStarted, EmailGenerated, LeadData, Touch
from coldstream_shared.ids import lead_id_for
from coldstream_shared.migrations import upgrade
from sending.main import create_app as create_sending
from sending.settings import SendingSettings

pytestmark = pytest.mark.integration

ARF_REPORT = """This is an email abuse report for an email message received from IP 203.0.113.7.

--report
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Rcpt-To: <{email}>
Arrival-Date: Thu, 8 Mar 2025 14:00:00 EDT
--report--
"""


@pytest.fixture
async def sending(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Path]:
    """The sending service (file backend) beside the replies service; yields its outbox folder."""
    await asyncio.to_thread(upgrade, "sending", fresh_database_url)
    settings = SendingSettings(
        nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path, physical_address="Acme, 1 Main St"
    )
    app = create_sending(settings)
    await app.start()
    try:
        yield settings.resolved_outbox_dir()
    finally:
        await app.stop()


def started(cid: str) -> CampaignStarted:
    spec = CampaignSpec.model_validate(
        {
            "id": cid,
            "name": "Complaints",
            "sources": [{"type": "csv", "path": "leads.csv"}],
            "offer": {"product": "Widgets", "value_proposition": "Fewer broken widgets"},
            "sequence": {
                "steps": [{"subject": "Hi", "body": "1"}, {"subject": "Re: Hi", "body": "2", "delay_days": 3}]
            },
            "sending": {"from_name": "Ana", "from_email": "ana@acme.io"},
        }
    )
    return CampaignStarted.originate(producer="test", key=cid, campaign_id=cid, campaign=spec)


def generated(cid: str, email: str) -> EmailGenerated:
    lead_id = lead_id_for(cid, email)
    return EmailGenerated.originate(
        producer="test",
        key=lead_id,
        lead_id=lead_id,
        campaign_id=cid,
        lead=LeadData(email=email, first_name="Jo"),
        touches=[
            Touch(step=1, subject="Hi", body="Hello"),
            Touch(step=2, subject="Re: Hi", body="Again", delay_days=3),
        ],
        writer="template",
        model="template-writer/v1",
        prompt_version="v1",
        quality_score=90,
    )


async def entry(database_url: str, email: str) -> Any:
    found = await rows(database_url, text("SELECT * FROM sending.suppressions WHERE value = :v").bindparams(v=email))
    return found[0] if found else None


async def touches(database_url: str, lead_id: str) -> list[tuple[int, str]]:
    query = text("SELECT step, status FROM sending.send_ledger WHERE lead_id = :l ORDER BY step").bindparams(l=lead_id)
    return [(r.step, r.status) for r in await rows(database_url, query)]


async def test_a_complaint_reply_suppresses_for_good_and_stops_the_sequence(
    replies_service: Any, sending: Path, js: Any
) -> None:
    cid, email = f"cmp-{uuid.uuid4().hex[:10]}", unique_email("angry")
    lead_id = lead_id_for(cid, email)
    async with replies_service() as (_, http, database_url):
        await publish(js, started(cid))
        await publish(js, generated(cid, email))
        await eventually(lambda: touches(database_url, lead_id))
        await eventually(lambda: list((sending / cid).glob("*.eml")) if (sending / cid).exists() else [])
        assert await touches(database_url, lead_id) == [(1, "sent"), (2, "scheduled")]

        complaint = webhook("reply_received", email, reply_text="I have reported this as spam. Never write again.")
        assert (await post(http, complaint)).status_code == 200

        [unsubscribed] = await matching(js, subjects.LEAD_UNSUBSCRIBED, lambda e: e["email"] == email)
        assert (unsubscribed["reason"], unsubscribed["source"], unsubscribed["lead_id"]) == (
            "complaint",
            "reply",
            lead_id,
        )
        suppressed = await eventually(lambda: entry(database_url, email))
        assert (suppressed.reason, suppressed.scope) == ("complaint", "email")
        await eventually(lambda: _cancelled(database_url, lead_id))
        [cancelled] = await matching(js, subjects.EMAIL_CANCELLED, lambda e: e["lead_id"] == lead_id)
        assert cancelled["steps"] == [2]
        assert len(list((sending / cid).glob("*.eml"))) == 1  # the first touch only, nothing after the complaint


async def _cancelled(database_url: str, lead_id: str) -> bool:
    return await touches(database_url, lead_id) == [(1, "sent"), (2, "cancelled")]


async def test_an_arf_abuse_report_suppresses_the_recipient_it_names(replies_service: Any, js: Any) -> None:
    recipient = unique_email("reported")
    async with replies_service() as (_, http, _database_url):
        report = webhook("reply_received", "fbl@isp.example", reply_text=ARF_REPORT.format(email=recipient))
        assert (await post(http, report)).status_code == 200
        [unsubscribed] = await matching(js, subjects.LEAD_UNSUBSCRIBED, lambda e: e["email"] == recipient)
        assert unsubscribed["reason"] == "complaint"
