"""Adapter: keep `lead_stages` moving by the rule in `stages.should_move`."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from coldstream_shared.sql import insert_or_skip
from replies.stages import should_move
from replies.store import lead_stages

CREATE_STAGE = insert_or_skip(lead_stages, ("lead_id", "campaign_id", "stage", "reason"), returning="lead_id")


async def move_stage(session: AsyncSession, lead_id: str, campaign_id: str | None, stage: str, reason: str) -> bool:
    """Move the lead to `stage` when the rule allows; True when it moved. Row-locked, so concurrent events queue."""
    created = await session.execute(
        CREATE_STAGE, {"lead_id": lead_id, "campaign_id": campaign_id, "stage": stage, "reason": reason[:200]}
    )
    if created.first() is not None:
        return True
    current = (
        await session.execute(select(lead_stages.c.stage).where(lead_stages.c.lead_id == lead_id).with_for_update())
    ).scalar_one()
    if not should_move(current, stage):
        return False
    await session.execute(
        update(lead_stages)
        .where(lead_stages.c.lead_id == lead_id)
        .values(stage=stage, reason=reason[:200], updated_at=func.now())
    )
    return True
