"""Use case: Instantly refused to set our campaign up (4xx), so its sends are held until an operator resumes it.

A 4xx on campaign creation (an invalid schedule, a wrong or revoked API key) fails the same way on every retry:
retrying it would be a crash loop, and failing the touches would lose leads that only wait for a configuration
fix. So the campaign is paused here (nothing is reserved, uploaded or reconciled for it), an operator is told with
`campaign.alert`, and the touches stay queued: `coldstream campaign resume <id>` lets the next upload round
create the campaign again and send each of them once. 429 and 5xx never get here: the client retries those.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import insert, update

from coldstream_shared.errors import TransientError
from coldstream_shared.events import CampaignAlert, CampaignPaused
from coldstream_shared.unit_of_work import UnitOfWork
from sending.instantly.client import InstantlyRejectedError
from sending.outgoing import SERVICE
from sending.store import campaign_alerts, campaigns

log = logging.getLogger(__name__)

KIND = "instantly_rejected"
PAUSED_BY = f"alert:{KIND}"


class CampaignHeldError(TransientError):
    """The campaign is paused (Instantly refused it, or an operator): its touches wait for a resume."""


async def hold_campaign(uow: UnitOfWork, campaign: Any, error: InstantlyRejectedError) -> str:
    """In the caller's transaction: pause the campaign, record the alert and emit it; returns the alert text."""
    cid = campaign.campaign_id
    message = (
        f"Instantly refused to set up the campaign: {error}. Sending is paused; fix the campaign's settings or the "
        f"API key, then run `coldstream campaign resume {cid}`: the held leads are then sent"
    )
    await uow.session.execute(update(campaigns).where(campaigns.c.campaign_id == cid).values(paused_reason=PAUSED_BY))
    alert_id = await uow.session.scalar(
        insert(campaign_alerts)
        .values(campaign_id=cid, kind=KIND, message=message, action_taken="paused")
        .returning(campaign_alerts.c.id)
    )
    # Keyed by the alert row: the same refusal after a resume is a new alert, not a duplicate of the first.
    envelope: dict[str, Any] = {
        "producer": SERVICE,
        "key": (cid, KIND, alert_id),
        "campaign_id": cid,
        "team_id": campaign.team_id,
        "correlation_id": cid,
    }
    uow.emit(
        CampaignAlert.originate(**envelope, kind=KIND, message=message, details={"status": error.status}),
        # For everyone else watching (status, the CLI); its handler here pauses at Instantly (nothing there yet).
        CampaignPaused.originate(**envelope, reason=message, paused_by=PAUSED_BY),
    )
    log.error("campaign %s: %s", cid, message)
    return message
