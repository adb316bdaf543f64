"""Use case: put a lead's generated sequence in the ledger and send its first touch."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from coldstream_shared.errors import TransientError
from coldstream_shared.events import EmailGenerated
from coldstream_shared.telemetry import hash_email
from coldstream_shared.unit_of_work import UnitOfWork
from sending import ledger
from sending.dispatch import Dispatcher
from sending.suppression import normalise_email

log = logging.getLogger(__name__)

# Consumers run independently: a lead may arrive a moment before its campaign does.
CAMPAIGN_RETRY_AFTER = 2.0
UNRESERVED = {"status": "scheduled", "reserved_at": None, "attempt_at": None, "unsubscribe_token": None}


class SendSequence:
    """Record every touch of a sequence (follow-ups as scheduled) and take the first one out."""

    def __init__(self, dispatcher: Dispatcher, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._dispatcher = dispatcher
        self._uow = unit_of_work

    async def __call__(self, event: EmailGenerated) -> None:
        email = normalise_email(event.lead.email)
        first_step = min(t.step for t in event.touches)
        first = ledger.touch_id(event.lead_id, event.campaign_id, first_step)
        async with self._uow() as uow:
            # The claim's answer is not a reason to stop: a redelivery after a crash mid-send must still
            # reconcile the reservation the first delivery left behind. The ledger's statuses decide instead.
            await uow.claim(event)
            # Same lock a suppression takes: an unsubscribe committing now is either seen here or comes after.
            campaign = await ledger.lock_address_and_load_campaign(uow.session, email, event.campaign_id)
            if campaign is None:
                raise TransientError(f"campaign {event.campaign_id!r} not known yet", retry_after=CAMPAIGN_RETRY_AFTER)
            # The common case in one statement: a first touch that may go now is inserted already reserved.
            reserve_now = await self._may_reserve_at_once(uow, campaign, email)
            now = self._dispatcher.now()
            touches = [
                {
                    "id": ledger.touch_id(event.lead_id, event.campaign_id, t.step),
                    "team_id": event.team_id,
                    "lead_id": event.lead_id,
                    "campaign_id": event.campaign_id,
                    "step": t.step,
                    "variant": event.variant,
                    "email": email,
                    "subject": t.subject,
                    "body": t.body,
                    "delay_days": t.delay_days,
                    "backend": campaign.backend,
                    "causation_id": event.event_id,
                    "lead_timezone": event.lead.timezone,
                    **(
                        self._dispatcher.reservation(campaign.backend, now)
                        if reserve_now and t.step == first_step
                        else UNRESERVED
                    ),
                }
                for t in event.touches
            ]
            inserted = {row.id: row for row in await ledger.add_touches(uow.session, touches)}
            # Kept from an earlier delivery (a redelivery after a crash): its status decides below.
            row = inserted.get(first) or await ledger.load_touch(uow.session, first, for_update=True)
            assert row is not None, "inserted or kept above"
            just_reserved = row.id in inserted and row.status == "reserved"
            if row.status == "scheduled":
                if campaign.paused_reason is not None:
                    # Due now: the sweep takes it out as soon as the campaign is resumed.
                    await ledger.set_due(uow.session, row.lead_id, row.campaign_id, row.step, self._dispatcher.now())
                    log.info("touch %s waits: campaign %s is paused", row.id, event.campaign_id)
                elif campaign.sending_approval == "manual":
                    # Held until `campaign.approved` (stage sending) makes it due (approve_sending.py).
                    log.info("touch %s waits for sending approval (%s)", row.id, hash_email(email))
                else:
                    row = await self._dispatcher.reserve(uow, row)
                    just_reserved = row.status == "reserved"
            await uow.commit()
        # Follow-ups (steps 2..n) get their due time when the previous touch is recorded as sent; the
        # follow-up loop (follow_ups.py) takes them out through the same dispatcher. Only a reserved touch has
        # anything to deliver or reconcile (queued ones go up with the Instantly uploader).
        if row.status == "reserved":
            await self._dispatcher.complete(row.id, just_reserved=just_reserved, reserved=(row, campaign))

    async def _may_reserve_at_once(self, uow: UnitOfWork, campaign: Any, email: str) -> bool:
        """Whether a new first touch can be inserted reserved: nothing holds it (pause, approval, a pacer) and,
        read after the address lock, nothing on the suppression list blocks it. Anything else takes the long way
        (inserted scheduled, then reserved, held or suppressed by the dispatcher, which checks again)."""
        if (
            campaign.paused_reason is not None
            or campaign.sending_approval == "manual"
            or self._dispatcher.paced(campaign.backend)
        ):
            return False
        return await self._dispatcher.blocked(uow, email) is None
