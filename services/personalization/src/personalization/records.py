"""Reads and writes of sequences, prompt versions, the cost log and approvals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from coldstream_shared.events import Touch
from personalization.prompts import BUILTIN, PromptVersion
from personalization.quality import QualityReport
from personalization.store import campaigns, llm_calls, prompt_versions, sequences
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


async def save_sequence(session: AsyncSession, row: SequenceRow) -> None:
    """Record a variant and the gate's verdict (kept once per lead, campaign and variant)."""
    await session.execute(
        insert(sequences)
        .values(
            lead_id=row.lead_id,
            campaign_id=row.campaign_id,
            variant=row.variant,
            status=row.status,
            selected=row.selected,
            writer=row.writer,
            model=row.model,
            prompt_version=row.prompt_version,
            touches=[touch.model_dump(mode="json") for touch in row.touches],
            quality_score=row.report.score,
            breakdown=row.report.breakdown,
            failures=row.report.failures,
            framework=row.framework,
            personalization_level=row.personalization_level,
            attempts=row.attempts,
            reason_code=row.reason_code,
            pending_event=row.pending_event,
            published_at=func.now() if row.status == "generated" else None,
        )
        .on_conflict_do_nothing()
    )


async def has_sequence(session: AsyncSession, lead_id: str, campaign_id: str) -> bool:
    """Whether this lead was already written for this campaign (a redelivery must not pay for it again)."""
    query = select(sequences.c.lead_id).where(sequences.c.lead_id == lead_id, sequences.c.campaign_id == campaign_id)
    return (await session.execute(query.limit(1))).first() is not None


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


async def spent_usd(session: AsyncSession, campaign_id: str) -> float:
    """What model calls for this campaign have cost so far (estimated)."""
    query = select(func.coalesce(func.sum(llm_calls.c.cost_usd), 0.0)).where(llm_calls.c.campaign_id == campaign_id)
    return float((await session.execute(query)).scalar_one())


async def claim_budget_alert(session: AsyncSession, campaign_id: str) -> bool:
    """True exactly once per campaign: the first time the budget stops generation."""
    result = await session.execute(
        update(campaigns)
        .where(campaigns.c.campaign_id == campaign_id, campaigns.c.budget_alerted_at.is_(None))
        .values(budget_alerted_at=func.now())
        .returning(campaigns.c.campaign_id)
    )
    return result.first() is not None


async def active_prompt(session: AsyncSession, name: str = BUILTIN.name) -> PromptVersion:
    """The active version of a prompt (the newest active one), or the built-in when none is stored."""
    row = (
        await session.execute(
            select(prompt_versions)
            .where(prompt_versions.c.name == name, prompt_versions.c.active.is_(True))
            .order_by(prompt_versions.c.created_at.desc(), prompt_versions.c.id.desc())
            .limit(1)
        )
    ).first()
    return BUILTIN if row is None else PromptVersion(row.name, row.version, row.content)


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
