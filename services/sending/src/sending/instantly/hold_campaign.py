"""Use case: Instantly refused a call for our campaign (4xx), so its sends are held until an operator resumes it.

A 4xx (an invalid schedule, a wrong or revoked API key, a campaign deleted at Instantly) fails the same way on every
retry: retrying it would be a crash loop, and failing the touches would lose leads that only wait for a
configuration fix. So the campaign is paused here (nothing is reserved, uploaded or reconciled for it), an operator
is told with `campaign.alert`, and the touches stay queued: `coldstream campaign resume <id>` lets the next upload
round go on and send each of them once. 429 and 5xx never get here: the client retries those.

The refused call decides the message and whether `campaign.paused` is emitted:
- create / activate: the campaign is paused here and `campaign.paused` tells everyone else (status, the CLI).
- pause: it is paused here already (the operator's reason is kept); the alert says Instantly may go on sending.
- activate answered 404: the campaign was deleted at Instantly. It is never re-created by us: Instantly had its
  leads, so a twin would email them a second time. It stays held; the operator restores it at Instantly (then
  resumes) or reaches the leads not contacted yet with a new campaign.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

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
Call = Literal["create", "activate", "pause", "add_leads"]


class CampaignHeldError(TransientError):
    """The campaign is paused (Instantly refused it, or an operator): its touches wait for a resume."""


def refusal_message(cid: str, call: Call, error: InstantlyRejectedError) -> str:
    """What the operator reads: what Instantly refused, what state we are in, and what to do."""
    resume = f"`coldstream campaign resume {cid}`"
    if call == "create":
        return (
            f"Instantly refused to set up the campaign: {error}. Sending is paused; fix the campaign's settings or "
            f"the API key, then run {resume}: the held leads are then sent"
        )
    if call == "activate" and error.status == 404:
        return (
            f"Instantly no longer has this campaign ({error}): was it deleted there? Sending stays paused. Coldstream "
            f"does not re-create it, since Instantly already had its leads and a new campaign would email them again; "
            f"restore the campaign at Instantly and run {resume}, or reach the leads not contacted yet with a new "
            f"campaign"
        )
    if call == "add_leads":
        return (
            f"Instantly refused our upload of leads: {error}. Sending is paused and the leads are queued again (none "
            f"was added); fix the API key or restore the campaign at Instantly, then run {resume}"
        )
    if call == "activate":
        return (
            f"Instantly refused to resume the campaign: {error}. It stays paused here and at Instantly; fix the API "
            f"key (or the campaign at Instantly), then run {resume} again"
        )
    return (
        f"Instantly refused to pause the campaign: {error}. It is paused here, but Instantly may go on sending the "
        f"emails it has scheduled: pause it in Instantly's app, and fix the API key"
    )


async def hold_campaign(uow: UnitOfWork, campaign: Any, error: InstantlyRejectedError, call: Call = "create") -> str:
    """In the caller's transaction: pause the campaign, record the alert and emit it; returns the alert text.

    `campaign` is anything with campaign_id and team_id (a row of our projection, or the event being handled).
    """
    cid = campaign.campaign_id
    message = refusal_message(cid, call, error)
    if call != "pause":  # a refused pause keeps the operator's (or the alert's) reason for pausing
        await uow.session.execute(
            update(campaigns).where(campaigns.c.campaign_id == cid).values(paused_reason=PAUSED_BY)
        )
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
        CampaignAlert.originate(**envelope, kind=KIND, message=message, details={"status": error.status, "call": call})
    )
    if call != "pause":
        # For everyone else watching (status, the CLI). Its handler here does not call Instantly for PAUSED_BY:
        # Instantly just refused us, and asking it again would only repeat the refusal.
        uow.emit(CampaignPaused.originate(**envelope, reason=message, paused_by=PAUSED_BY))
    log.error("campaign %s: %s", cid, message)
    return message
