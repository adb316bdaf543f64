"""Use case: keep the pipeline stage from lead events whoever published them (sending's suppressions too)."""

from __future__ import annotations

from collections.abc import Callable

from coldstream_shared.events import LeadBounced, LeadUnsubscribed
from coldstream_shared.unit_of_work import UnitOfWork
from replies.pipeline import move_stage


class TrackLeadStage:
    """`lead.unsubscribed` → unsubscribed; a hard `lead.bounced` → closed_lost. Unattributed events change nothing."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._uow = unit_of_work

    async def __call__(self, event: LeadUnsubscribed | LeadBounced) -> None:
        if isinstance(event, LeadUnsubscribed):
            stage, reason = "unsubscribed", f"lead.unsubscribed ({event.source})"
        elif event.bounce_type == "hard":
            stage, reason = "closed_lost", "lead.bounced (hard)"
        else:
            return  # a full mailbox is not a lost lead
        if event.lead_id is None:
            return
        async with self._uow() as uow:
            if await uow.claim(event):
                await move_stage(uow.session, event.lead_id, event.campaign_id, stage, reason)
            await uow.commit()
