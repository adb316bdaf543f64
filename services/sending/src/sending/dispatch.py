"""Reserve → deliver → record: the one path every touch takes out of the building.

Promise 2 lives here. A touch is reserved (with the suppression check, under the address lock) before any
backend call, and recorded as sent after it. A reservation found later with no record is *reconciled*: the backend
is asked whether it has the touch, and only a backend that says no gets it again.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from coldstream_shared.errors import TransientError
from coldstream_shared.events import EmailFailed, EmailSent, EmailSuppressed, utcnow
from coldstream_shared.telemetry import hash_email, tag_lead
from coldstream_shared.unit_of_work import UnitOfWork
from sending import ledger
from sending.compose import OutgoingEmail
from sending.ledger import LedgerRow
from sending.mailer import DeliveryResult, Mailer, PermanentDeliveryError
from sending.scheduling import due_after
from sending.suppression import blocking_entry

SERVICE = "sending"
# Longer than a consumer's ack_wait: a redelivery while the first attempt still runs waits instead of racing it.
DEFAULT_LEASE = timedelta(seconds=90)

log = logging.getLogger(__name__)


class Dispatcher:
    """Takes reserved touches out through a backend, exactly once."""

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        mailers: Mapping[str, Mailer],
        *,
        lease: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = unit_of_work
        self._mailers = mailers
        self._lease = lease
        self._clock = clock
        self._fallback_noted: set[str] = set()

    async def reserve(self, uow: UnitOfWork, row: LedgerRow) -> LedgerRow:
        """Inside the caller's transaction, which already holds the address lock: scheduled → reserved/suppressed."""
        blocked = await self._check(uow, row)
        if blocked is not None:
            return await self._suppress(uow, row, blocked.reason, blocked.scope)
        now = self._clock()
        reserved = await ledger.transition(
            uow.session,
            row.id,
            "scheduled",
            status="reserved",
            reserved_at=now,
            attempt_at=now,
            unsubscribe_token=secrets.token_urlsafe(24),
        )
        assert reserved is not None, "the caller holds the row"
        return reserved

    async def complete(self, ledger_id: uuid.UUID, *, just_reserved: bool) -> None:
        """Deliver a reserved touch and record it; a reservation of unknown outcome is reconciled first."""
        async with self._uow() as uow:
            row = await ledger.load_touch(uow.session, ledger_id)
            campaign = await ledger.load_campaign(uow.session, row.campaign_id) if row else None
        if row is None or row.status != "reserved" or campaign is None:
            return
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
            blocked = await self._check(uow, row)
            if blocked is None:
                return True
            await self._suppress(uow, row, blocked.reason, blocked.scope, source="reserved")
            await uow.commit()
            return False

    async def _record(self, row: LedgerRow, campaign: Any, result: DeliveryResult) -> None:
        sent_at = self._clock()
        async with self._uow() as uow:
            sent = await ledger.transition(
                uow.session,
                row.id,
                "reserved",
                status="sent",
                sent_at=sent_at,
                message_id=result.message_id,
                backend=result.backend,
                error=None,
            )
            if sent is None:  # another attempt recorded it first
                return
            delays = campaign.step_delays
            next_delay = delays[row.step] if row.step < len(delays) else None
            if next_delay is not None:
                due = due_after(sent_at, next_delay, business_days=campaign.business_days)
                await ledger.set_due(uow.session, row.lead_id, row.campaign_id, row.step + 1, due)
            uow.emit(
                EmailSent.originate(
                    producer=SERVICE,
                    key=row.id,
                    **_envelope(row),
                    email=row.email,
                    step=row.step,
                    variant=row.variant,
                    backend=result.backend,
                    message_id=result.message_id,
                    subject_line=row.subject,
                    unsubscribe_token=row.unsubscribe_token,
                )
            )
            await uow.commit()

    async def _fail(self, row: LedgerRow, backend: str, reason: str) -> None:
        """A refusal for good: the touch is failed, the rest of the sequence cancelled, nothing retried."""
        async with self._uow() as uow:
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
                    **_envelope(row),
                    step=row.step,
                    backend=backend,
                    reason=reason,
                    permanent=True,
                )
            )
            await uow.commit()
        # The reason may quote the message (an address in a header): it goes to the ledger, not to the log.
        log.warning("touch %s step %d failed permanently for %s", row.id, row.step, hash_email(row.email))

    async def _release(self, row: LedgerRow, held_since: datetime) -> None:
        try:
            async with self._uow() as uow:
                await ledger.release(uow.session, row.id, held_since, held_since - self._lease)
                await uow.commit()
        except SQLAlchemyError:  # the lease then simply runs out; the retry waits for it
            log.warning("could not release the lease of touch %s", row.id, exc_info=True)

    async def _check(self, uow: UnitOfWork, row: LedgerRow) -> Any:
        # Fail closed: a check that cannot run sends nothing. The transaction rolls back (nothing is reserved)
        # and the event is retried; if the database stays broken it is dead-lettered with the cause, never sent.
        try:
            return blocking_entry(row.email, await ledger.suppressions_for(uow.session, row.email))
        except SQLAlchemyError as error:
            raise TransientError("suppression check failed; not sending") from error

    async def _suppress(
        self, uow: UnitOfWork, row: LedgerRow, reason: str, scope: Any, source: str = "scheduled"
    ) -> LedgerRow:
        suppressed = await ledger.transition(uow.session, row.id, source, status="suppressed", error=reason)
        if suppressed is None:  # another attempt settled the touch first
            return row
        uow.emit(
            EmailSuppressed.originate(
                producer=SERVICE,
                key=row.id,
                **_envelope(row),
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
            log.warning("backend %r arrives with issue 7; sending through the file outbox meanwhile", backend)
        return self._mailers["file"]


def outgoing(row: LedgerRow, campaign: Any) -> OutgoingEmail:
    """The email a ledger row stands for, in the campaign's sending identity."""
    return OutgoingEmail(
        ledger_id=row.id,
        campaign_id=row.campaign_id,
        lead_id=row.lead_id,
        step=row.step,
        from_name=campaign.from_name,
        from_email=campaign.from_email,
        reply_to=campaign.reply_to,
        to=row.email,
        subject=row.subject,
        body=row.body,
        unsubscribe_token=row.unsubscribe_token,
        date=row.reserved_at,
    )


def _envelope(row: LedgerRow) -> dict[str, Any]:
    return {
        "team_id": row.team_id,
        "campaign_id": row.campaign_id,
        "lead_id": row.lead_id,
        "correlation_id": row.lead_id,
        "causation_id": row.causation_id,
    }
