"""Promise 2 at the use-case level: redeliveries and crashes mid-send never send a touch twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sending_testkit import (
    CrashError,
    Parts,
    campaign_id,
    email_generated,
    eml_files,
    open_parts,
    published,
    query,
    unsubscribed,
)

from coldstream_shared.errors import TransientError
from sending.dispatch import Dispatcher
from sending.follow_ups import SendDueTouches
from sending.send_sequence import SendSequence
from sending.suppress_contact import SuppressContact

pytestmark = pytest.mark.integration


@pytest.fixture
async def parts(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Parts]:
    async with open_parts(nats_url, fresh_database_url, tmp_path) as opened:
        yield opened


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


async def test_duplicates_racing_a_delivery_in_progress_wait_for_it_not_for_its_lease(parts: Parts) -> None:
    # The first reserves and delivers; the others (the next group-commit batch) find the touch reserved while
    # it is still being delivered here. They share that delivery's outcome instead of waiting out its 90 s lease.
    mailer = parts.mailer()
    send = parts.sender(mailer)
    generated = email_generated(parts.cid, "bob@prospect.com")
    await asyncio.wait_for(asyncio.gather(*(send(generated) for _ in range(3))), timeout=30)
    assert mailer.deliveries == 1
    assert len(eml_files(parts.outbox, parts.cid)) == 1
    assert await parts.sent_events() == 1


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
