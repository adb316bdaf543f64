"""Use case: keep the part of a started campaign that personalization needs."""

from __future__ import annotations

import logging
from collections.abc import Callable

from coldstream_shared.errors import PermanentError
from coldstream_shared.events import CampaignAlert, CampaignStarted
from coldstream_shared.unit_of_work import UnitOfWork
from personalization.campaign import Campaign
from personalization.store import save_campaign
from personalization.template_writer import check_templates

SERVICE = "personalization"
log = logging.getLogger(__name__)


class RecordCampaign:
    """Store the campaign projection; warn the operator at once when its templates cannot be rendered."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._uow = unit_of_work

    async def __call__(self, event: CampaignStarted) -> None:
        campaign = Campaign.from_spec(event.campaign_id, event.campaign)
        async with self._uow() as uow:
            if not await uow.claim(event):
                return
            await save_campaign(uow.session, campaign, event.occurred_at)
            try:
                check_templates(campaign)
            except PermanentError as error:
                # Stored anyway: every lead of this campaign is then dead-lettered with the same clear cause,
                # and a corrected campaign.started replaces the templates.
                log.warning("campaign %s has a template error: %s", event.campaign_id, error)
                uow.emit(
                    CampaignAlert.caused_by(
                        event,
                        producer=SERVICE,
                        campaign_id=event.campaign_id,
                        kind="template_error",
                        message=str(error),
                    )
                )
            await uow.commit()
