"""The SMTP backend (aiosmtplib): one relay, many sending accounts, a circuit breaker and a random pause per account.

SMTP cannot be asked afterwards whether it accepted a message, so reconciliation is conservative: a touch this
process knows was *not* accepted (a transient failure) may be retried; any other unknown outcome (a crash while
talking to the server) fails the touch for good rather than risk sending it twice (promise 2).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiosmtplib

from coldstream_shared.errors import TransientError
from coldstream_shared.resilience import BreakerOpenError, CircuitBreaker
from sending.compose import Compliance, OutgoingEmail, build_message
from sending.mailer import DeliveryResult, PermanentDeliveryError


@dataclass(frozen=True)
class SmtpRelay:
    """Where the messages are handed over (COLDSTREAM_SMTP_*)."""

    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    start_tls: bool | None = None  # None: use STARTTLS when the server offers it
    use_tls: bool = False
    timeout: float = 30.0


class SmtpMailer:
    """Delivers through the relay as the touch's sending account."""

    def __init__(
        self,
        relay: SmtpRelay,
        compliance: Compliance,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        breaker_threshold: int = 3,
        breaker_reset: float = 300.0,
    ) -> None:
        self._relay = relay
        self._compliance = compliance
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - send pacing, not security
        self._breaker_threshold = breaker_threshold
        self._breaker_reset = breaker_reset
        self._breakers: dict[str, CircuitBreaker] = {}
        self._next_slot: dict[str, float] = {}
        self._not_delivered: set[object] = set()

    def breaker(self, account: str) -> CircuitBreaker:
        """The account's circuit breaker (an account that keeps failing is skipped by the rotation)."""
        if account not in self._breakers:
            self._breakers[account] = CircuitBreaker(
                f"smtp:{account}", failure_threshold=self._breaker_threshold, reset_after=self._breaker_reset
            )
        return self._breakers[account]

    def unavailable(self) -> frozenset[str]:
        """Accounts whose breaker is open right now."""
        return frozenset(account for account, breaker in self._breakers.items() if breaker.state == "open")

    async def deliver(self, email: OutgoingEmail) -> DeliveryResult:
        account = email.sender or email.from_email
        breaker = self.breaker(account)
        try:
            breaker.check()
        except BreakerOpenError as error:
            self._not_delivered.add(email.ledger_id)
            raise TransientError(str(error), retry_after=error.retry_in) from error
        await self._pace(account, email.pause_range)
        try:
            message = build_message(email, self._compliance)
        except ValueError as error:
            raise PermanentDeliveryError(f"message cannot be built: {error}") from error
        relay = self._relay
        try:
            await aiosmtplib.send(
                message,
                hostname=relay.host,
                port=relay.port,
                username=relay.username,
                password=relay.password,
                start_tls=relay.start_tls,
                use_tls=relay.use_tls,
                timeout=relay.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            if all(refusal.code >= 500 for refusal in error.recipients):
                breaker.record_success()  # the account works; this recipient does not
                raise PermanentDeliveryError(f"recipient refused: {_codes(error)}") from error
            breaker.record_failure()  # 4xx: the server asks us to come back later
            self._not_delivered.add(email.ledger_id)
            raise TransientError(f"recipient deferred: {_codes(error)}") from error
        except aiosmtplib.SMTPResponseException as error:
            if error.code >= 500:
                breaker.record_success()
                raise PermanentDeliveryError(f"refused ({error.code})") from error
            breaker.record_failure()
            self._not_delivered.add(email.ledger_id)
            raise TransientError(f"SMTP answered {error.code}") from error
        except (aiosmtplib.SMTPException, OSError) as error:
            breaker.record_failure()
            self._not_delivered.add(email.ledger_id)
            raise TransientError(f"SMTP relay unreachable: {type(error).__name__}") from error
        breaker.record_success()
        self._not_delivered.discard(email.ledger_id)
        return DeliveryResult("smtp", email.message_id, account)

    async def find(self, email: OutgoingEmail) -> DeliveryResult | None:
        if email.ledger_id in self._not_delivered:
            return None  # this process saw the relay refuse it: safe to try again
        raise PermanentDeliveryError("outcome unknown after an interruption; SMTP cannot confirm it, so not resent")

    async def _pace(self, account: str, pause_range: tuple[float, float]) -> None:
        """A random pause between two sends of the same account (looks less like a bulk sender)."""
        low, high = pause_range
        now = time.monotonic()
        wait = self._next_slot.get(account, now) - now
        self._next_slot[account] = max(now, now + wait) + (self._rng.uniform(low, high) if high > 0 else 0.0)
        if wait > 0:
            await self._sleep(wait)


def _codes(error: aiosmtplib.SMTPRecipientsRefused) -> str:
    return ", ".join(str(refusal.code) for refusal in error.recipients) or "no code"
