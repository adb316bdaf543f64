"""Reserve → deliver → record: the one path every touch takes out of the building.

Promise 2 lives here. A touch is reserved (with the suppression check, under the address lock) before any
backend call, and recorded as sent after it. A reservation found later with no record is *reconciled*: the backend
is asked whether it has the touch, and only a backend that says no gets it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from coldstream_shared.dead_letters import is_permanent
from coldstream_shared.errors import TransientError
from coldstream_shared.events import EmailFailed, EmailSuppressed, utcnow
from coldstream_shared.telemetry import hash_email, tag_lead
from coldstream_shared.unit_of_work import UnitOfWork
from sending import ledger
from sending.ledger import LedgerRow
from sending.mailer import DeliveryResult, Mailer, PermanentDeliveryError
from sending.outgoing import SERVICE, envelope, outgoing
from sending.recording import RecordDeliveries
from sending.suppression import blocking_entry

# Longer than a consumer's ack_wait: a redelivery while the first attempt still runs waits instead of racing it.
DEFAULT_LEASE = timedelta(seconds=90)

log = logging.getLogger(__name__)


class Pacer(Protocol):
    """Decides, inside the reservation's transaction, whether a touch may go now (SMTP windows and limits)."""

    async def hold(self, uow: UnitOfWork, row: LedgerRow, now: datetime) -> datetime | None:
        """None to send now; else when to look at the touch again."""
        ...


class Dispatcher:
    """Takes reserved touches out through a backend, exactly once."""

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        mailers: Mapping[str, Mailer],
        *,
        lease: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] = utcnow,
        batched: frozenset[str] = frozenset(),
        pacers: Mapping[str, Pacer] | None = None,
    ) -> None:
        self._uow = unit_of_work
        self._mailers = mailers
        self._lease = lease
        self._clock = clock
        # Backends whose touches are reserved as `queued` and taken out in bulk by an uploader (Instantly).
        self._batched = batched
        self._pacers = pacers or {}
        self._fallback_noted: set[str] = set()
        # Deliveries finishing together are recorded in one transaction (recording.py).
        self._recorder = RecordDeliveries(unit_of_work, self.now)
        # Touches this process is delivering right now, each with what settles when that attempt ends.
        self._delivering: dict[uuid.UUID, asyncio.Future[None]] = {}

    def now(self) -> datetime:
        """The dispatcher's clock (tests move it)."""
        return self._clock()

    async def reserve(self, uow: UnitOfWork, row: LedgerRow) -> LedgerRow:
        """Inside the caller's transaction, which already holds the address lock: scheduled → reserved/suppressed."""
        blocked = await self.check(uow, row)
        if blocked is not None:
            return await self.suppress_in(uow, row, blocked.reason, blocked.scope)
        now = self._clock()
        if self.paced(row.backend):
            pacer = self._pacers[row.backend]
            until = await pacer.hold(uow, row, now)
            if until is not None:  # outside the send window, or every account is at its limit
                await ledger.set_due_at(uow.session, row.id, until)
                return row
        reserved = await ledger.transition(uow.session, row.id, "scheduled", **self.reservation(row.backend, now))
        assert reserved is not None, "the caller holds the row"
        return reserved

    def reservation(self, backend: str, now: datetime) -> dict[str, Any]:
        """The ledger values of a reserved touch (`queued` for a batched backend, which its uploader takes out)."""
        return {
            "status": "queued" if backend in self._batched and backend in self._mailers else "reserved",
            "reserved_at": now,
            "attempt_at": now,
            "unsubscribe_token": secrets.token_urlsafe(24),
        }

    def paced(self, backend: str) -> bool:
        """Whether a pacer (send windows, account limits) must look at a touch before it is reserved."""
        return backend in self._pacers and backend in self._mailers

    async def complete(
        self, ledger_id: uuid.UUID, *, just_reserved: bool, reserved: tuple[LedgerRow, Any] | None = None
    ) -> None:
        """Deliver a reserved touch and record it; a reservation of unknown outcome is reconciled first.

        `reserved` is the (row, campaign) the caller's committed reservation returned: it saves a read.
        """
        row: LedgerRow | None
        if reserved is not None and just_reserved:
            row, campaign = reserved
        else:
            async with self._uow() as uow:
                row = await ledger.load_touch(uow.session, ledger_id)
                campaign = await ledger.load_campaign(uow.session, row.campaign_id) if row else None
        if row is None or row.status != "reserved" or campaign is None:
            return
        if (running := self._delivering.get(row.id)) is not None:
            # This process is delivering the touch right now (a duplicate event racing the first): that attempt's
            # outcome is this one's too. Taking it over would only wait out the lease it holds; if it fails, its
            # own message is redelivered (and a reservation left behind is reconciled after the lease).
            with contextlib.suppress(Exception):
                await asyncio.shield(running)
            return
        attempt: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._delivering[row.id] = attempt
        try:
            await self._deliver(row, campaign, just_reserved=just_reserved)
        finally:
            del self._delivering[row.id]
            attempt.set_result(None)

    async def _deliver(self, row: LedgerRow, campaign: Any, *, just_reserved: bool) -> None:
        """Deliver (or reconcile) a reserved touch under its lease, and record the outcome."""
        tag_lead(row.lead_id, row.campaign_id)
        email = outgoing(row, campaign)
        mailer = self._mailer(campaign.backend)
        # Only one attempt at a time may deliver or reconcile a touch: the one whose lease is current.
        held_since = row.attempt_at if just_reserved else await self._take_over(row)
        try:
            if not just_reserved:
                found = await mailer.find(email)
                if found is not None:
                    log.warning("touch %s was delivered before a crash; recording it without sending again", row.id)
                    await self._record(row, campaign, found)
                    return
                if not await self._still_allowed(row):
                    return
            result = await mailer.deliver(email)
        except PermanentDeliveryError as error:
            await self._fail(row, campaign.backend, str(error))
            return
        except TransientError:
            # This attempt is over and the backend says it did not deliver; the retry (with the shared backoff)
            # still asks the backend first, so releasing the lease early cannot cause a second send.
            await self._release(row, held_since)
            raise
        log.info("touch %s step %d delivered to %s", row.id, row.step, hash_email(row.email))
        await self._record(row, campaign, result)

    async def _take_over(self, row: LedgerRow) -> datetime:
        """Take a reservation nobody recorded, to ask the backend about it; returns the lease now held."""
        # An attempt that may still be running (a redelivery after ack_wait, another replica) is waited for,
        # not raced.
        now = self._clock()
        held_since = now - row.attempt_at
        if held_since < self._lease:
            raise TransientError(
                "touch is being delivered by another attempt", retry_after=(self._lease - held_since).total_seconds()
            )
        async with self._uow() as uow:
            taken = await ledger.take_over(uow.session, row, now)
            await uow.commit()
        if not taken:
            raise TransientError("another attempt took the touch over", retry_after=self._lease.total_seconds())
        return now

    async def _still_allowed(self, row: LedgerRow) -> bool:
        """Before delivering a reconciled touch: the suppression list may have grown since it was reserved."""
        async with self._uow() as uow:
            await ledger.lock_address(uow.session, row.email)
            blocked = await self.check(uow, row)
            if blocked is None:
                return True
            await self.suppress_in(uow, row, blocked.reason, blocked.scope, source="reserved")
            await uow.commit()
            return False

    async def _record(self, row: LedgerRow, campaign: Any, result: DeliveryResult) -> None:
        await self._recorder(row, campaign, result)

    async def record_in(self, uow: UnitOfWork, row: LedgerRow, campaign: Any, result: DeliveryResult) -> bool:
        """Inside the caller's transaction: reserved → sent, the next touch scheduled, `email.sent` emitted."""
        return await self._recorder.record_in(uow, row, campaign, result)

    async def _fail(self, row: LedgerRow, backend: str, reason: str) -> None:
        async with self._uow() as uow:
            await self.fail_in(uow, row, backend, reason)
            await uow.commit()
        # The reason may quote the message (an address in a header): it goes to the ledger, not to the log.
        log.warning("touch %s step %d failed permanently for %s", row.id, row.step, hash_email(row.email))

    async def fail_in(self, uow: UnitOfWork, row: LedgerRow, backend: str, reason: str) -> None:
        """A refusal for good: the touch is failed, the rest of the sequence cancelled, nothing retried."""
        failed = await ledger.transition(uow.session, row.id, "reserved", status="failed", error=reason)
        if failed is None:  # another attempt settled the touch first
            return
        await ledger.cancel_later_steps(
            uow.session, row.lead_id, row.campaign_id, row.step, f"step {row.step} failed permanently"
        )
        uow.emit(
            EmailFailed.originate(
                producer=SERVICE,
                key=row.id,
                **envelope(row),
                step=row.step,
                backend=backend,
                reason=reason,
                permanent=True,
            )
        )

    async def _release(self, row: LedgerRow, held_since: datetime) -> None:
        try:
            async with self._uow() as uow:
                await ledger.release(uow.session, row.id, held_since, held_since - self._lease)
                await uow.commit()
        except SQLAlchemyError:  # the lease then simply runs out; the retry waits for it
            log.warning("could not release the lease of touch %s", row.id, exc_info=True)

    async def check(self, uow: UnitOfWork, row: LedgerRow) -> Any:
        return await self.blocked(uow, row.email)

    async def blocked(self, uow: UnitOfWork, email: str) -> Any:
        """The suppression entry that blocks `email`, or None; the caller holds the address lock."""
        # Fail closed: a check that cannot run sends nothing. The transaction rolls back (nothing is reserved)
        # and the event is retried; if the database stays broken it is dead-lettered with the cause, never sent.
        try:
            return blocking_entry(email, await ledger.suppressions_for(uow.session, email))
        except SQLAlchemyError as error:
            if is_permanent(error):  # bad data (a NUL in the address): no retry can check it; dead-lettered, unsent
                raise
            raise TransientError("suppression check failed; not sending") from error

    async def suppress_in(
        self, uow: UnitOfWork, row: LedgerRow, reason: str, scope: Any, source: str = "scheduled"
    ) -> LedgerRow:
        """Inside the caller's transaction (holding the address lock): the touch is suppressed, and says so."""
        suppressed = await ledger.transition(uow.session, row.id, source, status="suppressed", error=reason)
        if suppressed is None:  # another attempt settled the touch first
            return row
        # The rest of the sequence goes nowhere either (an entry older than the lead is not seen by the
        # cancellation a new suppression runs).
        await ledger.cancel_later_steps(uow.session, row.lead_id, row.campaign_id, row.step, f"suppressed: {reason}")
        uow.emit(
            EmailSuppressed.originate(
                producer=SERVICE,
                key=row.id,
                **envelope(row),
                step=row.step,
                reason=reason,
                scope=scope,
            )
        )
        log.info("touch %s step %d suppressed (%s) for %s", row.id, row.step, scope, hash_email(row.email))
        return suppressed

    def _mailer(self, backend: str) -> Mailer:
        if backend in self._mailers:
            return self._mailers[backend]
        if backend not in self._fallback_noted:
            self._fallback_noted.add(backend)
            log.warning("backend %r is not configured (no key or host); sending through the file outbox", backend)
        return self._mailers["file"]
