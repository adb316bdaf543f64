"""SMTP RCPT probe with catch-all detection (what Reacher's `smtp.is_deliverable` / `is_catch_all` answer).

We connect to the domain's best MX, say EHLO with a configurable name, MAIL FROM a configurable sender and ask
RCPT TO for the address, then for a random address at the same domain. No message is ever sent (no DATA).
A server that accepts the random address accepts everything (catch-all), so its "yes" proves nothing.
Off by default: it needs outbound port 25, which most clouds block.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

import aiosmtplib

from enrichment.hosts import HostResolver

ProbeStatus = Literal["deliverable", "undeliverable", "catch_all", "full_inbox", "unknown"]


@dataclass(frozen=True)
class ProbeResult:
    """What the mail server said about one address."""

    status: ProbeStatus
    detail: str


def _classify(code: int, message: str) -> ProbeResult:
    if code in (250, 251):
        return ProbeResult("deliverable", f"{code}")
    if code in (452, 552) or "full" in message.lower():
        return ProbeResult("full_inbox", f"{code} {message[:80]}")
    if 500 <= code < 600:
        return ProbeResult("undeliverable", f"{code} {message[:80]}")
    # 4xx: greylisting, rate limits ("try again later") — says nothing about the mailbox.
    return ProbeResult("unknown", f"{code} {message[:80]}")


class SmtpProber:
    """Asks a domain's mail server whether it would accept an address."""

    def __init__(
        self, hosts: HostResolver, *, helo_name: str, sender: str, port: int = 25, timeout: float = 10.0
    ) -> None:
        self._hosts = hosts
        self._helo, self._sender, self._port, self._timeout = helo_name, sender, port, timeout

    async def probe(self, email: str, mx_host: str) -> ProbeResult:
        """RCPT for `email`, then for a random address to detect catch-all; never raises for SMTP trouble."""
        addresses = await self._hosts.addresses(mx_host)
        if not addresses:
            return ProbeResult("unknown", f"mx host {mx_host} has no address")
        domain = email.rpartition("@")[2]
        smtp = aiosmtplib.SMTP(
            hostname=addresses[0],
            port=self._port,
            local_hostname=self._helo,
            timeout=self._timeout,
            start_tls=False,
        )
        try:
            await smtp.connect()
            await smtp.ehlo()
            await smtp.mail(self._sender)
            real = await smtp.execute_command(b"RCPT", f"TO:<{email}>".encode())
            result = _classify(real.code, real.message)
            if result.status == "deliverable":
                random_local = f"cs-{secrets.token_hex(8)}"
                fake = await smtp.execute_command(b"RCPT", f"TO:<{random_local}@{domain}>".encode())
                if fake.code in (250, 251):
                    result = ProbeResult("catch_all", "server accepts any address")
            return result
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            return ProbeResult("unknown", f"cannot talk to {mx_host}: {type(error).__name__}")
        finally:
            if smtp.is_connected:
                try:
                    await smtp.quit()
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    smtp.close()
