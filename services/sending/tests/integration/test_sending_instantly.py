"""The Instantly backend against the local fake of API v2: bulk upload, crash reconciliation, suppression, pause."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sending_testkit import CrashError, Parts, email_generated, execute, open_parts, published, query, unsubscribed

from coldstream.fakes.instantly import FakeInstantly, serve
from coldstream_shared.events import CampaignPaused, CampaignResumed
from sending import manage_suppressions
from sending.compose import Compliance
from sending.dispatch import Dispatcher
from sending.follow_ups import SendDueTouches
from sending.instantly.blocklist import MirrorBlocklist
from sending.instantly.campaigns import InstantlyCampaigns
from sending.instantly.client import InstantlyClient
from sending.instantly.mailer import InstantlyMailer
from sending.instantly.uploader import UploadQueuedLeads
from sending.pause_campaign import PauseCampaign, ResumeCampaign
from sending.send_sequence import SendSequence
from sending.suppress_contact import SuppressContact

pytestmark = pytest.mark.integration
KEY = "test-key"


@pytest.fixture
def fake() -> FakeInstantly:
    return FakeInstantly(api_key=KEY, flaky_429=0.15)


@pytest.fixture
def fake_url(fake: FakeInstantly) -> Iterator[str]:
    with serve(fake) as url:
        yield url


@pytest.fixture
async def parts(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Parts]:
    sending = {"backend": "instantly", "stop_for_company": True, "accounts": [{"email": "ana@acme.io"}]}
    async with open_parts(nats_url, fresh_database_url, tmp_path, **sending) as opened:
        yield opened


class Wired:
    """The Instantly pieces wired as main.py does, around the test's clock."""

    def __init__(self, parts: Parts, url: str, **uploader: Any) -> None:
        uow = parts.runtime.unit_of_work
        self.client = InstantlyClient(KEY, base_url=url, base_delay=0.01)
        self.campaigns = InstantlyCampaigns(self.client, uow)
        self.mailer = InstantlyMailer(self.campaigns, uow, Compliance("http://u.test", "1 Main St"))
        self.dispatcher = Dispatcher(
            uow, {"file": parts.mailer(), "instantly": self.mailer}, clock=parts.clock, batched=frozenset({"instantly"})
        )
        self.send = SendSequence(self.dispatcher, uow)
        self.upload = UploadQueuedLeads(self.dispatcher, self.mailer, uow, clock=parts.clock, **uploader)
        self.sweep = SendDueTouches(self.dispatcher, uow, clock=parts.clock)


def addresses(n: int) -> list[str]:
    return [f"lead{i}@company{i % 7}.com" for i in range(n)]


async def ledger(parts: Parts) -> list[tuple[str, int, str]]:
    rows = await query(parts.db, "SELECT email, step, status FROM sending.send_ledger ORDER BY email, step")
    return [(r.email, r.step, r.status) for r in rows]


async def test_leads_go_up_in_batches_with_their_copy_and_are_recorded_once(
    parts: Parts, fake: FakeInstantly, fake_url: str
) -> None:
    wired = Wired(parts, fake_url, batch_size=10)
    for email in addresses(25):
        await wired.send(email_generated(parts.cid, email))
    assert {status for _, step, status in await ledger(parts) if step == 1} == {"queued"}
    assert fake.add_calls == 0

    assert await wired.upload() == 25
    assert await wired.upload() == 0

    assert fake.add_calls == 3
    assert fake.duplicates() == {}
    assert sorted(fake.uploads) == sorted(addresses(25))
    statuses = await ledger(parts)
    assert {status for _, step, status in statuses if step == 1} == {"sent"}
    assert {status for _, step, status in statuses if step == 2} == {"handed_over"}
    ids = await query(parts.db, "SELECT email, message_id FROM sending.send_ledger WHERE step = 1")
    assert {r.message_id for r in ids} == set(fake.leads)
    batches = await query(parts.db, "SELECT status, leads_sent, leads_uploaded FROM sending.upload_batches")
    assert sorted((b.status, b.leads_sent, b.leads_uploaded) for b in batches) == [
        ("uploaded", 5, 5),
        ("uploaded", 10, 10),
        ("uploaded", 10, 10),
    ]
    assert len(await published(parts.nats, "email.sent", parts.cid)) == 25

    [campaign] = fake.campaigns.values()
    assert campaign["name"] == f"coldstream:{parts.cid}"
    assert campaign["status"] == 1
    assert campaign["stop_for_company"] is True
    assert campaign["stop_on_reply"] is True
    assert campaign["insert_unsubscribe_header"] is True
    assert campaign["email_list"] == ["ana@acme.io"]
    assert campaign["campaign_schedule"]["schedules"][0]["days"] == {
        "0": False, "1": True, "2": True, "3": True, "4": True, "5": True, "6": False
    }  # fmt: skip
    steps = campaign["sequences"][0]["steps"]
    assert [s["variants"][0]["subject"] for s in steps] == ["{{subject_1}}", "{{subject_2}}"]
    assert [s["delay"] for s in steps] == [3, 0]
    lead = next(iter(fake.leads.values()))
    variables = lead["custom_variables"]
    assert set(variables) == {"subject_1", "body_1", "subject_2", "body_2"}
    assert "1 Main St" in variables["body_2"]
    assert "http://u.test/unsubscribe/" in variables["body_1"]


async def test_a_crash_between_upload_and_ledger_is_reconciled_without_a_second_send(
    parts: Parts, fake: FakeInstantly, fake_url: str
) -> None:
    def crash() -> None:
        raise CrashError

    crashing = Wired(parts, fake_url, after_upload=crash)
    for email in addresses(12):
        await crashing.send(email_generated(parts.cid, email))
    with pytest.raises(CrashError):
        await crashing.upload()
    assert fake.add_calls == 1
    assert len(fake.uploads) == 12
    assert {status for _, step, status in await ledger(parts) if step == 1} == {"reserved"}
    assert await parts.sent_events() == 0

    restarted = Wired(parts, fake_url)
    assert await restarted.upload() == 0  # reserved touches are not queued: never re-added blindly
    parts.clock.advance(minutes=5)  # the crashed attempt's lease runs out
    await restarted.sweep()

    assert fake.add_calls == 1
    assert fake.duplicates() == {}
    assert {status for _, step, status in await ledger(parts) if step == 1} == {"sent"}
    assert await parts.sent_events() == 12
    ids = await query(parts.db, "SELECT message_id FROM sending.send_ledger WHERE step = 1")
    assert {r.message_id for r in ids} == set(fake.leads)


async def test_an_unknown_lead_after_a_crash_is_uploaded_once(parts: Parts, fake: FakeInstantly, fake_url: str) -> None:
    wired = Wired(parts, fake_url)
    await wired.send(email_generated(parts.cid, "solo@prospect.com"))
    # The process died after reserving the batch and before calling Instantly.
    await execute(parts.db, "UPDATE sending.send_ledger SET status = 'reserved', attempt_at = now() WHERE step = 1")
    parts.clock.advance(minutes=5)
    await wired.sweep()
    await wired.sweep()
    assert fake.uploads == {"solo@prospect.com": 1}
    assert [s for _, _, s in await ledger(parts)] == ["sent", "handed_over"]


async def test_an_unsubscribe_while_queued_keeps_the_lead_away_from_instantly(
    parts: Parts, fake: FakeInstantly, fake_url: str
) -> None:
    wired = Wired(parts, fake_url)
    await wired.send(email_generated(parts.cid, "bob@prospect.com"))
    await wired.send(email_generated(parts.cid, "carol@prospect.com"))
    await SuppressContact(parts.runtime.unit_of_work)(unsubscribed("carol@prospect.com"))
    assert await wired.upload() == 1
    assert set(fake.uploads) == {"bob@prospect.com"}
    assert ("carol@prospect.com", 1, "suppressed") in await ledger(parts)
    [cancelled] = await published(parts.nats, "email.cancelled", parts.cid)
    assert cancelled["steps"] == [2]
    assert cancelled["reason"] == "unsubscribed"


async def test_suppressions_are_mirrored_to_the_block_list(parts: Parts, fake: FakeInstantly, fake_url: str) -> None:
    wired = Wired(parts, fake_url)
    await manage_suppressions.add(parts.runtime.sessions, "@blocked.example", "do not contact")
    await manage_suppressions.add(parts.runtime.sessions, "x@elsewhere.example", "asked")
    mirror = MirrorBlocklist(wired.client, parts.runtime.unit_of_work)
    assert await mirror() == 2
    assert await mirror() == 0
    assert {"blocked.example", "x@elsewhere.example"} <= fake.blocklist


async def test_pause_and_resume_reach_instantly_and_hold_uploads(
    parts: Parts, fake: FakeInstantly, fake_url: str
) -> None:
    wired = Wired(parts, fake_url)
    await wired.send(email_generated(parts.cid, "bob@prospect.com"))
    assert await wired.upload() == 1
    [campaign] = fake.campaigns.values()
    uow = parts.runtime.unit_of_work
    await PauseCampaign(uow, wired.campaigns)(
        CampaignPaused.originate(producer="t", key=parts.cid, campaign_id=parts.cid, reason="test", paused_by="ops")
    )
    assert campaign["status"] == 2
    await wired.send(email_generated(parts.cid, "dan@prospect.com"))
    assert await wired.upload() == 0
    await ResumeCampaign(uow, wired.campaigns)(
        CampaignResumed.originate(producer="t", key=parts.cid, campaign_id=parts.cid, resumed_by="ops")
    )
    assert campaign["status"] == 1
    await wired.sweep()  # the held first touch is due now
    assert await wired.upload() == 1
    assert fake.duplicates() == {}
    assert set(fake.uploads) == {"bob@prospect.com", "dan@prospect.com"}


async def test_the_fake_is_as_strict_as_instantly(fake: FakeInstantly, fake_url: str) -> None:
    fake.flaky_429 = 0.0
    async with httpx.AsyncClient(base_url=fake_url) as http:
        assert (await http.post("/api/v2/leads/add", json={})).status_code == 401
        auth = {"Authorization": f"Bearer {KEY}"}
        created = await http.post(
            "/api/v2/campaigns", headers=auth, json={"name": "x", "campaign_schedule": {"schedules": [{}]}}
        )
        cid = created.json()["id"]
        too_many = [{"email": f"a{i}@b.co"} for i in range(1001)]
        answer = await http.post("/api/v2/leads/add", headers=auth, json={"campaign_id": cid, "leads": too_many})
        assert answer.status_code == 400
        nested = [{"email": "a@b.co", "custom_variables": {"x": {"y": 1}}}]
        answer = await http.post("/api/v2/leads/add", headers=auth, json={"campaign_id": cid, "leads": nested})
        assert answer.status_code == 400
        assert "custom_variables/x" in answer.json()["message"]
    fake.flaky_429 = 1.0
    async with httpx.AsyncClient(base_url=fake_url, headers={"Authorization": f"Bearer {KEY}"}) as http:
        assert (await http.get("/api/v2/campaigns")).status_code == 429
