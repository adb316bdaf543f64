"""Our campaign at Instantly: created once from ours, activated, paused and resumed.

Creation is the one Instantly call with no natural idempotency, so it is looked up by its unique name first: a
crash between creating it and recording the mapping finds the campaign again instead of creating a twin. A 4xx
while setting it up is permanent: the campaign is held (hold_campaign.py) instead of failing its leads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from coldstream_shared.unit_of_work import UnitOfWork
from sending import ledger
from sending.instantly.client import InstantlyClient, InstantlyRejectedError
from sending.instantly.hold_campaign import CampaignHeldError, hold_campaign
from sending.instantly.payloads import campaign_payload, instantly_name
from sending.store import instantly_campaigns


class InstantlyCampaigns:
    """Maps our campaigns to Instantly's, creating them on first use."""

    def __init__(self, client: InstantlyClient, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self.client = client
        self._uow = unit_of_work
        self._known: dict[str, str] = {}
        self._creating = asyncio.Lock()

    async def instantly_id(self, campaign_id: str) -> str | None:
        """The Instantly id of our campaign, when it exists already."""
        if campaign_id in self._known:
            return self._known[campaign_id]
        async with self._uow() as uow:
            found = (
                await uow.session.execute(
                    select(instantly_campaigns.c.instantly_id).where(instantly_campaigns.c.campaign_id == campaign_id)
                )
            ).scalar()
        if found:
            self._known[campaign_id] = found
        return found

    async def ensure(self, campaign: Any) -> str:
        """The Instantly id of `campaign` (a row of our projection), creating and activating it the first time.

        CampaignHeldError (transient: the touch waits) when the campaign is paused, or Instantly just refused it.
        """
        if known := await self.instantly_id(campaign.campaign_id):
            return known
        async with self._creating, self._uow() as uow:
            # Replicas (and this process) serialise creation of the same campaign on one advisory lock.
            await ledger.lock(uow.session, f"instantly-campaign:{campaign.campaign_id}")
            mapped = (
                await uow.session.execute(
                    select(instantly_campaigns.c.instantly_id).where(
                        instantly_campaigns.c.campaign_id == campaign.campaign_id
                    )
                )
            ).scalar()
            if mapped is None:
                # Re-read under the lock: another worker may have just held it (one alert, one refused call).
                current = await ledger.load_campaign(uow.session, campaign.campaign_id)
                if current is not None and current.paused_reason is not None:
                    raise CampaignHeldError(f"campaign {campaign.campaign_id} is paused: {current.paused_reason}")
                try:
                    mapped = await self._create(current or campaign)
                except InstantlyRejectedError as error:
                    message = await hold_campaign(uow, current or campaign, error)
                    await uow.commit()
                    raise CampaignHeldError(message) from error
                await uow.session.execute(
                    insert(instantly_campaigns)
                    .values(campaign_id=campaign.campaign_id, instantly_id=mapped, status="active")
                    .on_conflict_do_nothing()
                )
                await uow.commit()
        self._known[campaign.campaign_id] = mapped
        return str(mapped)

    async def _create(self, campaign: Any) -> str:
        """Find (after a crash) or create our campaign at Instantly and activate it; its Instantly id."""
        existing = await self.client.find_campaign(instantly_name(campaign.campaign_id))
        created = existing or await self.client.create_campaign(
            campaign_payload(campaign.campaign_id, campaign.step_delays, campaign.sending or {})
        )
        await self.client.activate(str(created["id"]))
        return str(created["id"])

    async def set_active(self, campaign_id: str, active: bool) -> None:
        """Pause or resume our campaign at Instantly (nothing to do when it was never created)."""
        instantly_id = await self.instantly_id(campaign_id)
        if instantly_id is None:
            return
        await (self.client.activate(instantly_id) if active else self.client.pause(instantly_id))
        async with self._uow() as uow:
            await uow.session.execute(
                update(instantly_campaigns)
                .where(instantly_campaigns.c.campaign_id == campaign_id)
                .values(status="active" if active else "paused")
            )
            await uow.commit()
