"""SMTP RCPT probe and catch-all detection against a real SMTP server (aiosmtpd) found through a real DNS server
(dnslib) on loopback. No message is sent: the probe stops after RCPT."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from coldstream.fakes.dns import serve_dns
from coldstream.runtime import ports
from enrichment.settings import EnrichmentSettings
from enrichment.verifier import Verifier, build_verifier

MAILBOXES = {"jane@corp.example", "info@corp.example", "full@corp.example", "grey@corp.example"}


class Mailserver:
    """corp.example knows its mailboxes; everything@catchall.example is accepted."""

    def __init__(self) -> None:
        self.helo: list[str] = []
        self.senders: list[str] = []
        self.data_received = 0

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]):  # noqa: N802
        self.helo.append(hostname)
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:  # noqa: N802
        self.senders.append(address)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:  # noqa: N802
        if address.startswith("full@"):
            return "552 5.2.2 Mailbox full"
        if address.startswith("grey@"):
            return "451 4.7.1 Greylisted, try again later"
        if address.endswith("@catchall.example") or address in MAILBOXES:
            envelope.rcpt_tos.append(address)
            return "250 OK"
        return "550 5.1.1 User unknown"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.data_received += 1
        return "250 OK"


@pytest.fixture(scope="module")
def mail_setup() -> Iterator[tuple[Verifier, Mailserver]]:
    handler = Mailserver()
    smtp_port = ports.free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    zone = {
        "corp.example": [("MX", "mx.corp.example")],
        "catchall.example": [("MX", "mx.catchall.example")],
        "down.example": [("MX", "mx.down.example")],
        "mx.corp.example": [("A", "127.0.0.1")],
        "mx.catchall.example": [("A", "127.0.0.1")],
        "mx.down.example": [("A", "127.0.0.2")],  # loopback, but nothing listens there
        "gmail.com": [("MX", "mx.corp.example")],
    }
    with serve_dns(zone) as dns_port:
        settings = EnrichmentSettings(
            enrichment_dns=True,
            dns_nameservers="127.0.0.1",
            dns_port=dns_port,
            dns_timeout=2.0,
            smtp_probe=True,
            smtp_probe_port=smtp_port,
            smtp_helo_name="probe.coldstream.example",
            smtp_sender="bounce@coldstream.example",
            smtp_timeout=3.0,
        )
        yield build_verifier(settings), handler
    controller.stop()


@pytest.mark.parametrize(
    ("email", "verdict", "reason"),
    [
        ("jane@corp.example", "safe", "smtp: mailbox accepts mail"),
        ("ghost@corp.example", "invalid", "smtp: mailbox refused (550 5.1.1 User unknown)"),
        ("anyone@catchall.example", "catch_all", "smtp: catch-all domain (accepts any address)"),
        ("info@corp.example", "risky", "smtp: mailbox accepts mail"),
        ("full@corp.example", "risky", "smtp: inbox full (552 5.2.2 Mailbox full)"),
        ("grey@corp.example", "unknown", "smtp: inconclusive (451 4.7.1 Greylisted, try again later)"),
    ],
)
async def test_rcpt_probe_verdicts(
    mail_setup: tuple[Verifier, Mailserver], email: str, verdict: str, reason: str
) -> None:
    verify, _ = mail_setup
    result = await verify(email)
    assert (result.verdict, result.reasons[-1]) == (verdict, reason)
    if verdict != "unknown":
        assert result.verified_by == "syntax+mx+smtp"


async def test_unreachable_mail_server_is_unknown_not_invalid(mail_setup: tuple[Verifier, Mailserver]) -> None:
    verify, _ = mail_setup
    result = await verify("jane@down.example")
    assert result.verdict == "unknown"
    assert result.reasons[-1].startswith("smtp: inconclusive (cannot talk to mx.down.example")


async def test_probe_uses_configured_helo_and_sender_and_never_sends(mail_setup: tuple[Verifier, Mailserver]) -> None:
    verify, server = mail_setup
    await verify("jane@corp.example")
    assert server.helo[-1] == "probe.coldstream.example"
    assert server.senders[-1] == "bounce@coldstream.example"
    assert server.data_received == 0


async def test_free_mail_hosts_are_never_probed(mail_setup: tuple[Verifier, Mailserver]) -> None:
    verify, server = mail_setup
    before = len(server.senders)
    result = await verify("someone@gmail.com")
    assert len(server.senders) == before
    assert result.verdict == "unknown"
    assert result.reasons == ["syntax: ok", "free-mail provider", "mx: ok"]
