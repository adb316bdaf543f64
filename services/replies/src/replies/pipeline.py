"""Adapter: keep `lead_stages` moving by the rule in `stages.should_move`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ARRAY, String, bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from coldstream_shared.sql import insert_many_or_skip, insert_or_skip
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


@dataclass(frozen=True)
class StageMove:
    """A lead's proposed stage, for `move_stages`."""

    lead_id: str
    campaign_id: str | None
    stage: str
    reason: str


async def move_stages(session: AsyncSession, moves: Sequence[StageMove]) -> set[str]:
    """`move_stage` for many leads in a few statements (whatever their number); the ids of the leads that moved.

    Several moves of one lead are folded in order by the same rule first (for the sequence's forward-only stages
    this ends where applying them one by one would: at the furthest). Leads are created, locked and updated in
    lead-id order, so concurrent batches cannot deadlock.
    """
    folded: dict[str, StageMove] = {}
    for move in moves:
        before = folded.get(move.lead_id)
        if before is None or should_move(before.stage, move.stage):
            folded[move.lead_id] = move
    ordered = [folded[lead_id] for lead_id in sorted(folded)]
    if not ordered:
        return set()
    created = await session.execute(
        CREATE_STAGES,
        {
            "lead_id": [m.lead_id for m in ordered],
            "campaign_id": [m.campaign_id for m in ordered],
            "stage": [m.stage for m in ordered],
            "reason": [m.reason[:200] for m in ordered],
        },
    )
    moved = set(created.scalars())
    existing = [m for m in ordered if m.lead_id not in moved]
    if not existing:
        return moved
    current = await session.execute(LOCK_STAGES, {"lead_ids": [m.lead_id for m in existing]})
    stages = dict(current.tuples().all())
    advancing = [m for m in existing if should_move(stages.get(m.lead_id), m.stage)]
    if advancing:
        await session.execute(
            UPDATE_STAGES,
            {
                "lead_ids": [m.lead_id for m in advancing],
                "stages": [m.stage for m in advancing],
                "reasons": [m.reason[:200] for m in advancing],
            },
        )
    return moved | {m.lead_id for m in advancing}


CREATE_STAGES = insert_many_or_skip(lead_stages, ("lead_id", "campaign_id", "stage", "reason"), returning="lead_id")
LOCK_STAGES = text(
    "SELECT lead_id, stage FROM replies.lead_stages WHERE lead_id = ANY(:lead_ids) ORDER BY lead_id FOR UPDATE"
).bindparams(bindparam("lead_ids", type_=ARRAY(String)))
UPDATE_STAGES = text(
    "UPDATE replies.lead_stages AS s SET stage = m.stage, reason = m.reason, updated_at = now()"
    " FROM unnest(CAST(:lead_ids AS varchar[]), CAST(:stages AS varchar[]), CAST(:reasons AS varchar[]))"
    " AS m(lead_id, stage, reason) WHERE s.lead_id = m.lead_id"
).bindparams(
    bindparam("lead_ids", type_=ARRAY(String)),
    bindparam("stages", type_=ARRAY(String)),
    bindparam("reasons", type_=ARRAY(String)),
)
