"""Promise 2 at the use-case level: redeliveries and crashes mid-send never send a touch twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sending_testkit import campaign_id, campaign_started, email_generated, eml_files, published, query, unsubscribed

from coldstream_shared.errors import TransientError
from coldstream_shared.events import utcnow
from coldstream_shared.messaging import declare_streams
from coldstream_shared.migrations import upgrade
from coldstream_shared.service import Runtime, build_runtime
from sending.compose import Compliance, OutgoingEmail
from sending.dispatch import SERVICE, Dispatcher
from sending.file_outbox import FileOutbox
from sending.follow_ups import SendDueTouches
from sending.mailer import DeliveryResult
from sending.remember_campaign import RememberCampaign
from sending.send_sequence import SendSequence
from sending.settings import SendingSettings
from sending.store import metadata
from sending.suppress_contact import SuppressContact

pytestmark = pytest.mark.integration


class CrashError(Exception):
    """Stands for the process dying at this point."""


@dataclass
class Clock:
    now: datetime = field(default_factory=utcnow)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Recording:
    """A mailer around the file outbox that counts calls and can die right after (or before) delivering."""

    inner: FileOutbox
    crash_after_delivery: bool = False
    crash_before_delivery: bool = False
    deliveries: int = 0
    finds: int = 0

    async def deliver(self, email: OutgoingEmail) -> DeliveryResult:
        if self.crash_before_delivery:
            raise CrashError
        self.deliveries += 1
        result = await self.inner.deliver(email)
        if self.crash_after_delivery:
            raise CrashError
        return result

    async def find(self, email: OutgoingEmail) -> DeliveryResult | None:
        self.finds += 1
        return await self.inner.find(email)


@dataclass
class Parts:
    runtime: Runtime
    db: str
    outbox: Path
    nats: str
    clock: Clock
    cid: str

    def mailer(self, **options: Any) -> Recording:
        return Recording(FileOutbox(self.outbox, Compliance("http://127.0.0.1:8080", "Addr")), **options)

    def sender(self, mailer: Recording) -> SendSequence:
        dispatcher = Dispatcher(self.runtime.unit_of_work, {"file": mailer}, clock=self.clock)
        return SendSequence(dispatcher, self.runtime.unit_of_work)

    async def sent_events(self) -> int:
        rows = await query(self.db, "SELECT count(*) AS n FROM sending.outbox WHERE subject = 'email.sent'")
        return rows[0].n

    async def statuses(self) -> list[tuple[int, str]]:
        rows = await query(self.db, "SELECT step, status FROM sending.send_ledger ORDER BY step")
        return [(r.step, r.status) for r in rows]


@pytest.fixture
async def parts(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Parts]:
    await asyncio.to_thread(upgrade, "sending", fresh_database_url)
    settings = SendingSettings(nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path)
    runtime = build_runtime(SERVICE, settings, metadata)
    await declare_streams(runtime.broker)
    cid = campaign_id()
    await RememberCampaign(runtime.unit_of_work)(campaign_started(cid))
    try:
        yield Parts(runtime, fresh_database_url, tmp_path / "outbox", nats_url, Clock(), cid)
    finally:
        await runtime.broker.stop()
        await runtime.engine.dispose()


async def test_a_redelivered_event_sends_nothing_more(parts: Parts) -> None:
    mailer = parts.mailer()
    send = parts.sender(mailer)
    generated = email_generated(parts.cid, "bob@prospect.com")
    await send(generated)
    await send(generated)
    assert mailer.deliveries == 1
    assert len(eml_files(parts.outbox, parts.cid)) == 1
    assert await parts.sent_events() == 1
    assert len(await published(parts.nats, "email.sent", parts.cid)) == 1


async def test_a_crash_after_delivery_is_reconciled_without_a_second_send(parts: Parts) -> None:
    generated = email_generated(parts.cid, "bob@prospect.com")
    with pytest.raises(CrashError):
        await parts.sender(parts.mailer(crash_after_delivery=True))(generated)
    assert await parts.statuses() == [(1, "reserved"), (2, "scheduled")]
    assert len(eml_files(parts.outbox, parts.cid)) == 1
    assert await parts.sent_events() == 0

    mailer = parts.mailer()
    # A redelivery soon after may meet the first attempt still running: it waits rather than racing it.
    with pytest.raises(TransientError):
        await parts.sender(mailer)(generated)
    parts.clock.advance(minutes=5)
    await parts.sender(mailer)(generated)

    assert (mailer.finds, mailer.deliveries) == (1, 0)
    assert await parts.statuses() == [(1, "sent"), (2, "scheduled")]
    assert len(eml_files(parts.outbox, parts.cid)) == 1
    assert await parts.sent_events() == 1
    [sent] = await published(parts.nats, "email.sent", parts.cid)
    [token] = await query(parts.db, "SELECT unsubscribe_token FROM sending.send_ledger WHERE step = 1")
    assert sent["unsubscribe_token"] == token.unsubscribe_token  # the token of the first attempt
    assert f"/unsubscribe/{token.unsubscribe_token}" in eml_files(parts.outbox, parts.cid)[0].read_text()


async def test_a_crash_before_delivery_is_delivered_once_on_reconciliation(parts: Parts) -> None:
    generated = email_generated(parts.cid, "bob@prospect.com")
    with pytest.raises(CrashError):
        await parts.sender(parts.mailer(crash_before_delivery=True))(generated)
    parts.clock.advance(minutes=5)
    mailer = parts.mailer()
    await parts.sender(mailer)(generated)
    assert (mailer.finds, mailer.deliveries) == (1, 1)
    assert len(eml_files(parts.outbox, parts.cid)) == 1
    assert await parts.sent_events() == 1


async def test_an_unsubscribe_during_an_interrupted_send_stops_it(parts: Parts) -> None:
    generated = email_generated(parts.cid, "bob@prospect.com")
    with pytest.raises(CrashError):
        await parts.sender(parts.mailer(crash_before_delivery=True))(generated)
    await SuppressContact(parts.runtime.unit_of_work)(unsubscribed("bob@prospect.com"))
    parts.clock.advance(minutes=5)
    mailer = parts.mailer()
    await parts.sender(mailer)(generated)
    assert mailer.deliveries == 0
    assert await parts.statuses() == [(1, "suppressed"), (2, "cancelled")]
    assert eml_files(parts.outbox, parts.cid) == []
    assert len(await published(parts.nats, "email.suppressed", parts.cid)) == 1


async def test_an_unknown_campaign_is_retried_later(parts: Parts) -> None:
    with pytest.raises(TransientError):
        await parts.sender(parts.mailer())(email_generated(campaign_id(), "bob@prospect.com"))


async def test_follow_ups_leave_when_due_and_stop_on_unsubscribe(parts: Parts) -> None:
    mailer = parts.mailer()
    dispatcher = Dispatcher(parts.runtime.unit_of_work, {"file": mailer}, clock=parts.clock)
    send, sweep = (
        SendSequence(dispatcher, parts.runtime.unit_of_work),
        SendDueTouches(dispatcher, parts.runtime.unit_of_work, clock=parts.clock),
    )
    await send(email_generated(parts.cid, "bob@prospect.com"))
    await send(email_generated(parts.cid, "carol@prospect.com"))
    await SuppressContact(parts.runtime.unit_of_work)(unsubscribed("carol@prospect.com"))

    await sweep()  # nothing due yet
    assert mailer.deliveries == 2
    parts.clock.advance(days=10)
    await sweep()
    await sweep()  # a second sweep finds nothing more to do

    rows = await query(parts.db, "SELECT email, step, status FROM sending.send_ledger ORDER BY email, step")
    assert [(r.email, r.step, r.status) for r in rows] == [
        ("bob@prospect.com", 1, "sent"),
        ("bob@prospect.com", 2, "sent"),
        ("carol@prospect.com", 1, "sent"),
        ("carol@prospect.com", 2, "cancelled"),
    ]
    assert mailer.deliveries == 3
    assert sorted(e["step"] for e in await published(parts.nats, "email.sent", parts.cid)) == [1, 1, 2]
