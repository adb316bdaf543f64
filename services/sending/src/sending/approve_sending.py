"""Use case: a person approved sending for a campaign (`campaign.approved`, stage `sending`).

Personalization holds sequences until then; sending holds first touches too (defence in depth, and because the
two consumers see the approval and the released sequences in either order). Approval releases what was held:
the touches become due now and the sweep takes them out through the usual reservation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import update

from coldstream_shared.events import CampaignApproved, utcnow
from coldstream_shared.unit_of_work import UnitOfWork
from sending.store import campaigns, send_ledger

log = logging.getLogger(__name__)


class ApproveSending:
    """Record the approval and release the held first touches."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], clock: Callable[[], datetime] = utcnow) -> None:
        self._uow = unit_of_work
        self._clock = clock

    async def __call__(self, event: CampaignApproved) -> None:
        if event.stage != "sending":
            return
        async with self._uow() as uow:
            if not await uow.claim(event):
                return
            await uow.session.execute(
                update(campaigns)
                .where(campaigns.c.campaign_id == event.campaign_id)
                .values(sending_approval="approved")
            )
            released = await uow.session.execute(
                update(send_ledger)
                .where(
                    send_ledger.c.campaign_id == event.campaign_id,
                    send_ledger.c.step == 1,
                    send_ledger.c.status == "scheduled",
                    send_ledger.c.due_at.is_(None),
                )
                .values(due_at=self._clock())
                .returning(send_ledger.c.id)
            )
            count = len(released.all())
            await uow.commit()
        log.info(
            "sending approved for %s by %s: %d held first touches released", event.campaign_id, event.approved_by, count
        )
