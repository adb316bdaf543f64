"""Use case: a classified reply stops (or postpones) the rest of a lead's sequence.

Contract with the replies service: every category but out_of_office, auto_reply and bounce is a person answering,
and cancels the lead's remaining touches — the whole company domain's when the campaign says `stop_for_company`.
An out-of-office with a return date moves the remaining touches past it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

from coldstream_shared.events import ReplyClassified
from coldstream_shared.unit_of_work import UnitOfWork
from sending import ledger
from sending.cancellations import announce_cancelled
from sending.suppression import domain_of

log = logging.getLogger(__name__)

NOT_A_PERSON = frozenset({"out_of_office", "auto_reply", "bounce"})


def is_human_reply(category: str) -> bool:
    """Whether a reply category means a person answered (and the sequence must stop)."""
    return category not in NOT_A_PERSON


def back_after(return_date: object) -> datetime:
    """The first moment after an out-of-office return date: the next day, 00:00 UTC."""
    return datetime.combine(return_date, time.min, tzinfo=UTC) + timedelta(days=1)  # type: ignore[arg-type]


class StopSequence:
    """Cancel or postpone the remaining touches after a reply."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._uow = unit_of_work

    async def __call__(self, event: ReplyClassified) -> None:
        if event.campaign_id is None or event.lead_id is None:
            log.warning("reply.classified %s carries no lead or campaign; nothing to stop", event.event_id)
            return
        async with self._uow() as uow:
            if not await uow.claim(event):
                return
            if event.category == "out_of_office" and event.return_date is not None:
                moved = await ledger.postpone_remaining(
                    uow.session, event.lead_id, event.campaign_id, back_after(event.return_date)
                )
                log.info("lead %s out of office: %d touches postponed", event.lead_id, moved)
            elif is_human_reply(event.category):
                campaign = await ledger.load_campaign(uow.session, event.campaign_id)
                whole_company = bool(campaign and (campaign.sending or {}).get("stop_for_company"))
                why = f"replied ({event.category})"
                cancelled = await ledger.cancel_remaining(uow.session, event.campaign_id, why, lead_id=event.lead_id)
                if whole_company:
                    cancelled += await ledger.cancel_remaining(
                        uow.session, event.campaign_id, f"{why}: someone at the company", domain=domain_of(event.email)
                    )
                leads = announce_cancelled(uow, cancelled, why, event)
                log.info("reply from lead %s: touches of %d leads cancelled", event.lead_id, leads)
            await uow.commit()
