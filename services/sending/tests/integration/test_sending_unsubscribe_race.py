"""Promise 1 under concurrency: an unsubscribe that commits while a send is in flight.

Either the send was reserved before the suppression committed (that one touch goes out, nothing after it), or
the send never happens. The address lock both paths take is what makes this hold; each test here fails without it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sending_testkit import Parts, email_generated, eml_files, open_parts, published, query, unsubscribed

from sending import bulk_ledger, ledger
from sending.dispatch import Dispatcher
from sending.follow_ups import SendDueTouches
from sending.suppress_contact import SuppressContact

pytestmark = pytest.mark.integration

# Long enough for an unguarded unsubscribe to commit in the window; the assertions never depend on it.
WINDOW = 0.5


@pytest.fixture
async def parts(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Parts]:
    async with open_parts(nats_url, fresh_database_url, tmp_path) as opened:
        yield opened


async def touches(parts: Parts, address: str) -> list[tuple[int, str]]:
    rows = await query(
        parts.db, "SELECT step, status FROM sending.send_ledger WHERE email = :e ORDER BY step", e=address
    )
    return [(r.step, r.status) for r in rows]


async def test_an_unsubscribe_arriving_between_check_and_reservation_waits_for_it(
    parts: Parts, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, mailer = "bob@prospect.com", parts.mailer()
    suppress = SuppressContact(parts.runtime.unit_of_work)
    read_list = bulk_ledger.claim_and_read_suppressions  # what a batch of first touches reads, under its locks
    unsubscribe: asyncio.Task[None] | None = None
    committed_before_reservation = False

    async def read_then_let_the_unsubscribe_in(session: Any, events: Any, emails: Any) -> Any:
        nonlocal unsubscribe, committed_before_reservation
        entries = await read_list(session, events, emails)
        # The send has read the list and not reserved yet: the unsubscribe tries to commit right now.
        unsubscribe = asyncio.create_task(suppress(unsubscribed(address)))
        await asyncio.wait({unsubscribe}, timeout=WINDOW)
        committed_before_reservation = unsubscribe.done()
        return entries

    monkeypatch.setattr(bulk_ledger, "claim_and_read_suppressions", read_then_let_the_unsubscribe_in)
    await parts.sender(mailer)(email_generated(parts.cid, address))
    assert unsubscribe is not None
    await unsubscribe
    monkeypatch.undo()

    # The reservation came first, so this touch may go out — but only because the unsubscribe waited for it.
    assert not committed_before_reservation
    assert mailer.deliveries == 1
    assert await touches(parts, address) == [(1, "sent"), (2, "cancelled")]
    parts.clock.advance(days=10)
    await SendDueTouches(
        Dispatcher(parts.runtime.unit_of_work, {"file": mailer}, clock=parts.clock),
        parts.runtime.unit_of_work,
        clock=parts.clock,
    )()
    assert mailer.deliveries == 1
    assert len(eml_files(parts.outbox, parts.cid)) == 1


async def test_a_send_arriving_while_an_unsubscribe_commits_never_happens(
    parts: Parts, monkeypatch: pytest.MonkeyPatch
) -> None:
    address, mailer = "carol@prospect.com", parts.mailer()
    add_entry = ledger.add_suppression
    send: asyncio.Task[None] | None = None

    async def add_then_let_the_send_in(session: Any, *args: Any) -> bool:
        nonlocal send
        added = await add_entry(session, *args)
        # The entry is written but not committed: a send starting now must not slip past it.
        send = asyncio.create_task(parts.sender(mailer)(email_generated(parts.cid, address)))
        await asyncio.wait({send}, timeout=WINDOW)
        return added

    monkeypatch.setattr(ledger, "add_suppression", add_then_let_the_send_in)
    await SuppressContact(parts.runtime.unit_of_work)(unsubscribed(address))
    assert send is not None
    await send
    monkeypatch.undo()

    assert mailer.deliveries == 0
    assert (await touches(parts, address))[0] == (1, "suppressed")
    assert eml_files(parts.outbox, parts.cid) == []
    assert await published(parts.nats, "email.sent", parts.cid) == []


async def test_many_racing_unsubscribes_never_let_a_suppressed_touch_out(parts: Parts) -> None:
    rng = random.Random(7)
    mailer = parts.mailer()
    dispatcher = Dispatcher(parts.runtime.unit_of_work, {"file": mailer}, clock=parts.clock)
    send = parts.sender(mailer)
    suppress = SuppressContact(parts.runtime.unit_of_work)

    async def later(delay: float, call: Any) -> None:
        await asyncio.sleep(delay)
        await call

    addresses = [f"racer{i}@prospect.com" for i in range(50)]
    for address in addresses:
        await asyncio.gather(
            later(rng.uniform(0, 0.02), send(email_generated(parts.cid, address))),
            later(rng.uniform(0, 0.02), suppress(unsubscribed(address))),
        )

    outcomes: dict[str, int] = {"sent first": 0, "never sent": 0}
    for address in addresses:
        states = await touches(parts, address)
        if states[0] == (1, "sent"):
            # Reserved before the unsubscribe committed: the unsubscribe then saw (and cancelled) the follow-up.
            assert states == [(1, "sent"), (2, "cancelled")], address
            outcomes["sent first"] += 1
        else:
            assert states[0] == (1, "suppressed"), address
            outcomes["never sent"] += 1
    # Weeks later nothing more leaves for anyone on the list.
    parts.clock.advance(days=30)
    await SendDueTouches(dispatcher, parts.runtime.unit_of_work, clock=parts.clock)()
    sent = await published(parts.nats, "email.sent", parts.cid)
    assert len(sent) == mailer.deliveries == outcomes["sent first"]
    assert {e["step"] for e in sent} <= {1}
    assert len(eml_files(parts.outbox, parts.cid)) == outcomes["sent first"]
