"""Reads and writes of sequences, the cost log and approvals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from coldstream_shared.events import Touch
from personalization.quality import QualityReport
from personalization.store import campaigns, llm_calls, sequences
from personalization.writer import CallRecord


@dataclass(frozen=True)
class SequenceRow:
    """One variant's outcome, as stored."""

    lead_id: str
    campaign_id: str
    variant: int
    status: str
    selected: bool
    writer: str
    model: str
    prompt_version: str
    touches: list[Touch]
    report: QualityReport
    framework: str | None = None
    personalization_level: str | None = None
    attempts: int = 1
    reason_code: str | None = None
    pending_event: dict[str, Any] | None = None


# Fixed text, compiled once: `insert().on_conflict_do_nothing()` has no cache key, so SQLAlchemy compiled it again for
# every lead (the largest single cost in a profile of the template path). Built from the table: a renamed column
# fails at import. `published_at` is the database's clock, as for sequences released by an approval.
_SEQUENCE_COLUMNS = (
    "lead_id",
    "campaign_id",
    "variant",
    "status",
    "selected",
    "writer",
    "model",
    "prompt_version",
    "touches",
    "quality_score",
    "breakdown",
    "failures",
    "framework",
    "personalization_level",
    "attempts",
    "reason_code",
    "pending_event",
)
_SAVE_SEQUENCE = text(
    f"INSERT INTO {sequences.schema}.{sequences.name} ({', '.join(_SEQUENCE_COLUMNS)}, published_at)"
    f" VALUES ({', '.join(f':{name}' for name in _SEQUENCE_COLUMNS)}, CASE WHEN :published THEN now() END)"
    " ON CONFLICT DO NOTHING"
).bindparams(
    *(bindparam(name, type_=sequences.c[name].type) for name in _SEQUENCE_COLUMNS),
    bindparam("published", type_=Boolean()),
)


async def save_sequence(session: AsyncSession, row: SequenceRow) -> None:
    """Record a variant and the gate's verdict (kept once per lead, campaign and variant)."""
    await session.execute(
        _SAVE_SEQUENCE,
        {
            "lead_id": row.lead_id,
            "campaign_id": row.campaign_id,
            "variant": row.variant,
            "status": row.status,
            "selected": row.selected,
            "writer": row.writer,
            "model": row.model,
            "prompt_version": row.prompt_version,
            "touches": [touch.model_dump(mode="json") for touch in row.touches],
            "quality_score": row.report.score,
            "breakdown": row.report.breakdown,
            "failures": row.report.failures,
            "framework": row.framework,
            "personalization_level": row.personalization_level,
            "attempts": row.attempts,
            "reason_code": row.reason_code,
            "pending_event": row.pending_event,
            "published": row.status == "generated",
        },
    )


async def log_calls(
    session: AsyncSession, campaign_id: str, lead_id: str, variant: int, prompt_version: str, calls: list[CallRecord]
) -> None:
    """Append model calls to the cost log."""
    if calls:
        await session.execute(
            insert(llm_calls),
            [
                {
                    "campaign_id": campaign_id,
                    "lead_id": lead_id,
                    "variant": variant,
                    "prompt_version": prompt_version,
                    **call.__dict__,
                }
                for call in calls
            ],
        )


async def spent_usd(db: AsyncSession | AsyncConnection, campaign_id: str) -> float:
    """What model calls for this campaign have cost so far (estimated)."""
    query = select(func.coalesce(func.sum(llm_calls.c.cost_usd), 0.0)).where(llm_calls.c.campaign_id == campaign_id)
    return float((await db.execute(query)).scalar_one())


async def claim_budget_alert(session: AsyncSession, campaign_id: str) -> bool:
    """True exactly once per campaign: the first time the budget stops generation."""
    result = await session.execute(
        update(campaigns)
        .where(campaigns.c.campaign_id == campaign_id, campaigns.c.budget_alerted_at.is_(None))
        .values(budget_alerted_at=func.now())
        .returning(campaigns.c.campaign_id)
    )
    return result.first() is not None


async def approve_sending(session: AsyncSession, campaign_id: str, approved_by: str) -> list[dict[str, Any]] | None:
    """Mark the campaign approved and take every waiting sequence out of the queue, exactly once.

    Returns the events to publish, or None when the campaign is not known yet. The campaign row is updated first:
    its row lock makes a concurrent writer (which holds FOR SHARE on it) finish before the sequences are read.
    """
    known = await session.execute(
        update(campaigns)
        .where(campaigns.c.campaign_id == campaign_id)
        .values(
            sending_approved_at=func.coalesce(campaigns.c.sending_approved_at, func.now()),
            sending_approved_by=func.coalesce(campaigns.c.sending_approved_by, approved_by),
        )
        .returning(campaigns.c.campaign_id)
    )
    if known.first() is None:
        return None
    released = await session.execute(
        update(sequences)
        .where(sequences.c.campaign_id == campaign_id, sequences.c.status == "awaiting_approval")
        .values(status="generated", published_at=func.now())
        .returning(sequences.c.pending_event)
    )
    return [row.pending_event for row in released]
