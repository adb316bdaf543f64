"""The SMTP backend against a real aiosmtpd server: headers, threading, rotation, limits, breaker."""

from __future__ import annotations

import email
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sending_testkit import Parts, email_generated, open_parts, query

from coldstream_shared.errors import TransientError
from sending.compose import Compliance, OutgoingEmail
from sending.dispatch import Dispatcher
from sending.follow_ups import SendDueTouches
from sending.mailer import PermanentDeliveryError
from sending.send_sequence import SendSequence
from sending.smtp_mailer import SmtpMailer, SmtpRelay
from sending.smtp_pacer import SmtpPacer

pytestmark = pytest.mark.integration


class Inbox:
    """An aiosmtpd handler that keeps what it accepts and refuses on request."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.answer: str | None = None  # e.g. "421 try later" for every RCPT
        self.lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if self.answer:
            return self.answer
        if address.startswith("refused"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp(free_port: int) -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port)
    controller.start()
    try:
        yield inbox, free_port
    finally:
        controller.stop()


@pytest.fixture
async def parts(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Parts]:
    sending = {
        "backend": "smtp",
        "accounts": [{"email": "a1@acme.io", "hourly_limit": 1}, {"email": "a2@acme.io", "hourly_limit": 1}],
        "window_start": "00:00",
        "window_end": "23:59",
        "weekdays": [0, 1, 2, 3, 4, 5, 6],
        "footer_text": "Acme Ltd, {physical_address}. Opt out: {unsubscribe_url}",
    }
    async with open_parts(nats_url, fresh_database_url, tmp_path, **sending) as opened:
        yield opened


def mailer(port: int) -> SmtpMailer:
    return SmtpMailer(SmtpRelay("127.0.0.1", port, start_tls=False), Compliance("http://u.test", "1 Main St"))


async def test_smtp_rotates_accounts_within_limits_and_threads_follow_ups(
    parts: Parts, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    smtp_mailer = mailer(port)
    dispatcher = Dispatcher(
        parts.runtime.unit_of_work,
        {"file": parts.mailer(), "smtp": smtp_mailer},
        clock=parts.clock,
        pacers={"smtp": SmtpPacer(smtp_mailer.unavailable)},
    )
    send = SendSequence(dispatcher, parts.runtime.unit_of_work)
    sweep = SendDueTouches(dispatcher, parts.runtime.unit_of_work, clock=parts.clock)
    for address in ("ann@x.com", "ben@y.com", "cat@z.com"):
        await send(email_generated(parts.cid, address))
    assert len(inbox.messages) == 2  # two accounts, one send per hour each: the third waits
    assert sorted(m["From"] for m in inbox.messages) == ["Ana Sender <a1@acme.io>", "Ana Sender <a2@acme.io>"]

    parts.clock.advance(hours=2)
    await sweep()
    assert len(inbox.messages) == 3
    first = inbox.messages[0]
    assert first["List-Unsubscribe"].startswith("<http://u.test/unsubscribe/")
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Acme Ltd, 1 Main St. Opt out: http://u.test/unsubscribe/" in first.get_payload()
    recorded = await query(parts.db, "SELECT message_id, account FROM sending.send_ledger WHERE step = 1")
    assert {r.message_id for r in recorded} == {m["Message-ID"] for m in inbox.messages}

    for _ in range(4):  # follow-ups are due days later; one per account and hour
        parts.clock.advance(days=2)
        await sweep()
    follow_ups = [m for m in inbox.messages if m["In-Reply-To"]]
    assert len(follow_ups) == 3
    firsts = {m["To"]: m["Message-ID"] for m in inbox.messages if not m["In-Reply-To"]}
    for message in follow_ups:
        assert message["In-Reply-To"] == firsts[message["To"]]
        assert message["References"] == firsts[message["To"]]


def outgoing(to: str) -> OutgoingEmail:
    from coldstream_shared.events import utcnow

    return OutgoingEmail(
        ledger_id=uuid.uuid4(),
        campaign_id="c",
        lead_id="l",
        step=1,
        from_name="Ana",
        from_email="ana@acme.io",
        reply_to=None,
        to=to,
        subject="Hi",
        body="Hello",
        unsubscribe_token="tok",
        date=utcnow(),
    )


async def test_refusals_and_the_circuit_breaker(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    smtp_mailer = mailer(port)
    with pytest.raises(PermanentDeliveryError):
        await smtp_mailer.deliver(outgoing("refused@x.com"))
    inbox.answer = "421 busy, try later"
    failed = outgoing("bob@x.com")
    for _ in range(3):
        with pytest.raises(TransientError):
            await smtp_mailer.deliver(failed)
    assert smtp_mailer.unavailable() == {"ana@acme.io"}
    with pytest.raises(TransientError, match="circuit open"):
        await smtp_mailer.deliver(failed)
    assert await smtp_mailer.find(failed) is None  # known not accepted: may be retried
    with pytest.raises(PermanentDeliveryError):  # unknown outcome: never resent
        await smtp_mailer.find(outgoing("carol@x.com"))
