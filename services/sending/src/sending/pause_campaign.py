"""Use cases: pause and resume sending for a campaign, here and at Instantly.

Pausing is a flag on our campaign projection: nothing is reserved, uploaded or reconciled while it is set. The
Instantly campaign is paused (or activated) in the same handling, before the event is acknowledged. Instantly
answering 4xx (a revoked key, a campaign deleted there) would answer it on every redelivery too: instead of a retry
loop ending in the DLQ while we claim "resumed", the campaign is held (instantly/hold_campaign.py). 429/5xx and
network errors stay transient: the event is redelivered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import func, update

from coldstream_shared.errors import TransientError
from coldstream_shared.events import CampaignPaused, CampaignResumed
from coldstream_shared.unit_of_work import UnitOfWork
from sending.instantly.client import InstantlyRejectedError
from sending.instantly.hold_campaign import PAUSED_BY, hold_campaign
from sending.store import campaign_alerts, campaigns

log = logging.getLogger(__name__)


class RemoteCampaigns(Protocol):
    """Where else the campaign runs (Instantly); absent for the file and SMTP backends."""

    async def set_active(self, campaign_id: str, active: bool) -> None:
        """Pause or resume the remote campaign (no-op when it does not exist there).

        InstantlyRejectedError when the remote refuses for good (4xx); anything else is retried.
        """
        ...


class PauseCampaign:
    """Stop sending for a campaign (an alert or an operator)."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], remote: RemoteCampaigns | None = None) -> None:
        self._uow = unit_of_work
        self._remote = remote

    async def __call__(self, event: CampaignPaused) -> None:
        async with self._uow() as uow:
            if not await uow.claim(event):
                return
            await uow.session.execute(
                update(campaigns)
                .where(campaigns.c.campaign_id == event.campaign_id)
                .values(paused_reason=f"{event.paused_by}: {event.reason}")
            )
            # A hold is Instantly refusing us: asking it to pause would be refused the same way (and alert twice).
            if event.paused_by != PAUSED_BY:
                try:
                    await _set_remote(self._remote, event.campaign_id, active=False)
                except InstantlyRejectedError as error:
                    # Paused here all the same (the safe side); the alert tells the operator Instantly may not be.
                    await hold_campaign(uow, event, error, "pause")
            await uow.commit()
        log.warning("campaign %s paused by %s: %s", event.campaign_id, event.paused_by, event.reason)


class ResumeCampaign:
    """Let sending go on; open alerts of the campaign are marked resolved."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], remote: RemoteCampaigns | None = None) -> None:
        self._uow = unit_of_work
        self._remote = remote

    async def __call__(self, event: CampaignResumed) -> None:
        async with self._uow() as uow:
            if not await uow.claim(event):
                return
            # Instantly first: our side is resumed only when Instantly's is, so the two never disagree.
            try:
                await _set_remote(self._remote, event.campaign_id, active=True)
            except InstantlyRejectedError as error:
                await hold_campaign(uow, event, error, "activate")
                await uow.commit()
                return
            await uow.session.execute(
                update(campaigns).where(campaigns.c.campaign_id == event.campaign_id).values(paused_reason=None)
            )
            await uow.session.execute(
                update(campaign_alerts)
                .where(campaign_alerts.c.campaign_id == event.campaign_id, campaign_alerts.c.resolved_at.is_(None))
                .values(resolved_at=func.now())
            )
            await uow.commit()
        log.info("campaign %s resumed by %s", event.campaign_id, event.resumed_by)


async def _set_remote(remote: RemoteCampaigns | None, campaign_id: str | None, *, active: bool) -> None:
    if remote is None or campaign_id is None:
        return
    try:
        await remote.set_active(campaign_id, active)
    except (TransientError, InstantlyRejectedError):
        raise
    except Exception as error:  # the local flag must not commit without the remote one: retry the event
        raise TransientError(
            f"could not {'resume' if active else 'pause'} the campaign at Instantly: {error}"
        ) from error
