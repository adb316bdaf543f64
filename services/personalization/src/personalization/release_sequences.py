"""Use case: a person approved sending for a campaign; publish every sequence that waited for it, once."""

from __future__ import annotations

from collections.abc import Callable

from coldstream_shared.errors import TransientError
from coldstream_shared.events import CampaignApproved, EmailGenerated
from coldstream_shared.unit_of_work import UnitOfWork
from personalization.records import approve_sending


class ReleaseSequences:
    """`campaign.approved` (stage sending) -> one `email.generated` per waiting sequence; later ones flow on."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._uow = unit_of_work

    async def __call__(self, event: CampaignApproved) -> int:
        if event.stage != "sending":
            return 0
        async with self._uow() as uow:
            if not await uow.claim(event):
                return 0
            released = await approve_sending(uow.session, event.campaign_id, event.approved_by)
            if released is None:
                raise TransientError(f"campaign {event.campaign_id} is not known to personalization yet")
            # Stored when written (caused by the lead's lead.verified): same event id as an auto-mode publish.
            uow.emit(*(EmailGenerated.model_validate(body) for body in released))
            await uow.commit()
            return len(released)
