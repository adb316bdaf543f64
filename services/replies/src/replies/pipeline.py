"""Adapter: keep `lead_stages` moving by the rule in `stages.should_move`."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from replies.stages import should_move
from replies.store import lead_stages


async def move_stage(session: AsyncSession, lead_id: str, campaign_id: str | None, stage: str, reason: str) -> bool:
    """Move the lead to `stage` when the rule allows; True when it moved. Row-locked, so concurrent events queue."""
    created = await session.execute(
        insert(lead_stages)
        .values(lead_id=lead_id, campaign_id=campaign_id, stage=stage, reason=reason[:200])
        .on_conflict_do_nothing()
        .returning(lead_stages.c.lead_id)
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
