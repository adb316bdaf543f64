"""Use case: keep the part of a started campaign that sending needs."""

from __future__ import annotations

from collections.abc import Callable

from coldstream_shared.events import CampaignStarted
from coldstream_shared.unit_of_work import UnitOfWork
from sending import ledger


class RememberCampaign:
    """Store (or refresh) the campaign's sending identity, delays and approvals."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._uow = unit_of_work

    async def __call__(self, event: CampaignStarted) -> None:
        spec = event.campaign
        async with self._uow() as uow:
            if not await uow.claim(event):
                return
            await ledger.save_campaign(
                uow.session,
                campaign_id=event.campaign_id,
                team_id=event.team_id,
                backend=spec.sending.backend,
                from_name=spec.sending.from_name,
                from_email=spec.sending.from_email,
                reply_to=spec.sending.reply_to,
                step_delays=[step.delay_days for step in spec.sequence.steps],
                business_days=spec.sequence.business_days,
                sending_approval=spec.approvals.sending,
                sending=spec.sending.model_dump(mode="json"),
            )
            await uow.commit()
