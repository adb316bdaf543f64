"""Use case: a campaign whose bounce rate crosses its threshold is paused, and an operator is told.

The rule is `bounce_rate_exceeded` (pure); the use case counts hard bounces and sends within the campaign's window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as upsert

from coldstream_shared.events import CampaignAlert, CampaignPaused, LeadBounced, utcnow
from coldstream_shared.unit_of_work import UnitOfWork
from sending import ledger
from sending.outgoing import SERVICE
from sending.store import bounces, campaign_alerts, campaigns, send_ledger
from sending.suppression import normalise_email

log = logging.getLogger(__name__)

PAUSED_BY = "alert:bounce_rate"


def bounce_rate_exceeded(bounced: int, sent: int, *, threshold: float, min_sent: int) -> bool:
    """Too many bounces: judged only once enough emails went out for the rate to mean something."""
    return sent >= min_sent and bounced / sent > threshold


class WatchBounces:
    """Record a campaign's hard bounce; pause the campaign when the rate in its window is too high."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], clock: Callable[[], datetime] = utcnow) -> None:
        self._uow = unit_of_work
        self._clock = clock

    async def __call__(self, event: LeadBounced) -> None:
        # No claim: the suppression use case claims this event; everything here is idempotent on its own.
        if event.bounce_type != "hard" or event.campaign_id is None:
            return
        cid = event.campaign_id
        async with self._uow() as uow:
            campaign = await ledger.load_campaign(uow.session, cid)
            if campaign is None:
                return
            now = self._clock()
            await uow.session.execute(
                upsert(bounces)
                .values(campaign_id=cid, email=normalise_email(event.email), at=now)
                .on_conflict_do_nothing()
            )
            settings = campaign.sending or {}
            since = now - timedelta(hours=settings.get("bounce_window_hours", 24))
            bounced = await uow.session.scalar(
                select(func.count()).where(bounces.c.campaign_id == cid, bounces.c.at >= since)
            )
            sent = await uow.session.scalar(
                select(func.count()).where(
                    send_ledger.c.campaign_id == cid, send_ledger.c.status == "sent", send_ledger.c.sent_at >= since
                )
            )
            threshold = float(settings.get("bounce_threshold", 0.05))
            exceeded = bounce_rate_exceeded(
                bounced or 0, sent or 0, threshold=threshold, min_sent=int(settings.get("bounce_min_sent", 20))
            )
            if exceeded and campaign.paused_reason is None:
                await self._pause(uow, event, bounced or 0, sent or 0, threshold)
            await uow.commit()

    async def _pause(self, uow: UnitOfWork, event: LeadBounced, bounced: int, sent: int, threshold: float) -> None:
        rate = bounced / sent
        message = f"bounce rate {rate:.1%} is over {threshold:.1%} ({bounced} of {sent} sent): sending paused"
        # Paused here at once (no send slips through while the event travels); the campaign.paused handler
        # then pauses it at Instantly too.
        await uow.session.execute(
            update(campaigns).where(campaigns.c.campaign_id == event.campaign_id).values(paused_reason=PAUSED_BY)
        )
        await uow.session.execute(
            insert(campaign_alerts).values(
                campaign_id=event.campaign_id, kind="bounce_rate", message=message, action_taken="paused"
            )
        )
        envelope: dict[str, Any] = {
            "producer": SERVICE,
            "key": "bounce_rate",
            "lead_id": None,
            "correlation_id": event.campaign_id,
        }
        uow.emit(
            CampaignAlert.caused_by(
                event,
                **envelope,
                kind="bounce_rate",
                message=message,
                details={"bounced": bounced, "sent": sent, "rate": round(rate, 4), "threshold": threshold},
            ),
            CampaignPaused.caused_by(event, **envelope, reason=message, paused_by=PAUSED_BY),
        )
        log.warning("campaign %s: %s", event.campaign_id, message)
