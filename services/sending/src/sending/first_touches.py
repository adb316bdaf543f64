"""Reserving the first touches of many generated sequences in one transaction (coldstream_shared.group_commit).

Per batch: the campaigns are read; the send locks of every address are taken (one statement, in the one order every
path uses); the events are claimed; the suppression list is read for every address (after the locks, so an entry
committed before them is seen); every touch is inserted, each first touch that may go now already reserved (one
`unnest` INSERT ... RETURNING); commit. Anything unusual about one sequence (a redelivery, a paused or manually
approved campaign, a paced backend, a blocked address) takes the long way for that sequence alone, in the same
transaction: inserted scheduled, then reserved, held or suppressed by the dispatcher, which checks again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coldstream_shared.errors import TransientError
from coldstream_shared.events import EmailGenerated
from coldstream_shared.group_commit import Committed, GroupCommit
from coldstream_shared.telemetry import hash_email
from coldstream_shared.unit_of_work import UnitOfWork
from sending import bulk_ledger, ledger
from sending.dispatch import Dispatcher
from sending.ledger import LedgerRow
from sending.suppression import Suppression, blocking_entry, normalise_email

log = logging.getLogger(__name__)

# Consumers run independently: a lead may arrive a moment before its campaign does.
CAMPAIGN_RETRY_AFTER = 2.0
UNRESERVED = {"status": "scheduled", "reserved_at": None, "attempt_at": None, "unsubscribe_token": None}


@dataclass(frozen=True)
class Arrival:
    """A generated sequence waiting for its batch."""

    event: EmailGenerated
    email: str  # normalised
    first: uuid.UUID  # the first touch's ledger id

    @classmethod
    def of(cls, event: EmailGenerated) -> Arrival:
        step = min(t.step for t in event.touches)
        return cls(event, normalise_email(event.lead.email), ledger.touch_id(event.lead_id, event.campaign_id, step))


@dataclass(frozen=True)
class Reservation:
    """The first touch as its batch left it, and whether this handling reserved it (it then delivers it)."""

    row: LedgerRow
    campaign: Any
    just_reserved: bool


class ReserveFirstTouches:
    """`await reserve(event)` records a sequence and reserves its first touch when it may go now."""

    def __init__(self, dispatcher: Dispatcher, unit_of_work: Callable[[], UnitOfWork], *, max_batch: int = 100):
        self._dispatcher = dispatcher
        self._uow = unit_of_work
        self._group: GroupCommit[Arrival, Reservation] = GroupCommit(self._store, max_batch=max_batch)

    async def __call__(self, event: EmailGenerated) -> Reservation:
        return await self._group(Arrival.of(event))

    async def _store(self, arrivals: list[Arrival], committed: Committed) -> None:
        async with self._uow() as uow:
            session = uow.session
            # Same locks a suppression takes: an unsubscribe committing now is either seen below or comes after.
            campaigns = await bulk_ledger.lock_and_load_campaigns(
                session, (a.email for a in arrivals), (a.event.campaign_id for a in arrivals)
            )
            known = [a for a in arrivals if a.event.campaign_id in campaigns]
            results: list[Reservation | BaseException] = []
            inserted: dict[uuid.UUID, LedgerRow] = {}
            if known:
                # The claim's answer is not a reason to stop: a redelivery after a crash mid-send must still
                # reconcile the reservation the first delivery left behind. The ledger's statuses decide instead.
                entries = await bulk_ledger.claim_and_read_suppressions(
                    session, [a.event for a in known], (a.email for a in known)
                )
                now = self._dispatcher.now()
                touches = [t for a in known for t in self._touches(a, campaigns[a.event.campaign_id], entries, now)]
                inserted = {row.id: row for row in await ledger.add_touches(session, touches)}
            for arrival in arrivals:
                campaign = campaigns.get(arrival.event.campaign_id)
                if campaign is None:
                    results.append(_unknown(arrival))
                else:
                    # pop: the same sequence twice in one batch (a redelivery racing the first) is reserved once.
                    row = inserted.pop(arrival.first, None)
                    results.append(await self._settle(uow, arrival, campaign, row))
            await uow.commit()
            committed(results)

    def _touches(
        self, arrival: Arrival, campaign: Any, entries: list[Suppression], now: datetime
    ) -> list[dict[str, Any]]:
        event, first_step = arrival.event, min(t.step for t in arrival.event.touches)
        # The common case in the one INSERT: a first touch that may go now is inserted already reserved.
        reserve_now = not self._held(campaign) and blocking_entry(arrival.email, entries) is None
        return [
            {
                "id": ledger.touch_id(event.lead_id, event.campaign_id, t.step),
                "team_id": event.team_id,
                "lead_id": event.lead_id,
                "campaign_id": event.campaign_id,
                "step": t.step,
                "variant": event.variant,
                "email": arrival.email,
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

    def _held(self, campaign: Any) -> bool:
        """Whether something holds a new first touch (pause, approval, a pacer): it then takes the long way."""
        return (
            campaign.paused_reason is not None
            or campaign.sending_approval == "manual"
            or self._dispatcher.paced(campaign.backend)
        )

    async def _settle(self, uow: UnitOfWork, arrival: Arrival, campaign: Any, row: LedgerRow | None) -> Reservation:
        just_reserved = row is not None and row.status == "reserved"
        if row is None:  # kept from an earlier delivery (a redelivery after a crash): its status decides below
            row = await ledger.load_touch(uow.session, arrival.first, for_update=True)
            assert row is not None, "inserted now or before"
        if row.status == "scheduled":
            if campaign.paused_reason is not None:
                # Due now: the sweep takes it out as soon as the campaign is resumed.
                await ledger.set_due(uow.session, row.lead_id, row.campaign_id, row.step, self._dispatcher.now())
                log.info("touch %s waits: campaign %s is paused", row.id, row.campaign_id)
            elif campaign.sending_approval == "manual":
                # Held until `campaign.approved` (stage sending) makes it due (approve_sending.py).
                log.info("touch %s waits for sending approval (%s)", row.id, hash_email(arrival.email))
            else:  # under the lock this batch holds: reserved, held by a pacer, or suppressed
                row = await self._dispatcher.reserve(uow, row)
                just_reserved = row.status == "reserved"
        return Reservation(row, campaign, just_reserved)


def _unknown(arrival: Arrival) -> TransientError:
    campaign_id = arrival.event.campaign_id
    return TransientError(f"campaign {campaign_id!r} not known yet", retry_after=CAMPAIGN_RETRY_AFTER)
