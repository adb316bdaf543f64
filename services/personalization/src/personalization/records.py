"""Reads and writes of sequences, the cost log and approvals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, Boolean, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from coldstream_shared.events import Touch
from coldstream_shared.sql import insert_many_or_skip
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


# Many rows in one statement of fixed text: one array per column through `unnest`, so the statement (and its
# prepared plan) is the same for any number of rows, and the rows of every lead in a group commit go in at once.
# (Per-row `insert().on_conflict_do_nothing()` has no cache key: SQLAlchemy compiled it again for every lead.)
# Built from the table: a renamed column fails at import. `published_at` is the database's clock, as for
# sequences released by an approval, hence a statement of our own rather than `insert_many_or_skip`.
# `dimensions=1`: the JSON values are lists themselves, not a second array dimension.
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
_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]  # only renders type names
_ARRAYS = ", ".join(
    [f"CAST(:{name} AS {sequences.c[name].type.compile(dialect=_DIALECT)}[])" for name in _SEQUENCE_COLUMNS]
    + ["CAST(:published AS BOOLEAN[])"]
)
_SAVE_SEQUENCES = text(
    f"INSERT INTO {sequences.schema}.{sequences.name} ({', '.join(_SEQUENCE_COLUMNS)}, published_at)"
    f" SELECT {', '.join(_SEQUENCE_COLUMNS)}, CASE WHEN published THEN now() END"
    f" FROM unnest({_ARRAYS}) AS given({', '.join(_SEQUENCE_COLUMNS)}, published)"
    " ON CONFLICT DO NOTHING"
).bindparams(
    *(bindparam(name, type_=ARRAY(sequences.c[name].type, dimensions=1)) for name in _SEQUENCE_COLUMNS),
    bindparam("published", type_=ARRAY(Boolean(), dimensions=1)),
)
_CALL_COLUMNS = (
    "campaign_id",
    "lead_id",
    "variant",
    "prompt_version",
    "model",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_creation_tokens",
    "latency_ms",
    "cost_usd",
    "stop_reason",
    "outcome",
)
_LOG_CALLS = insert_many_or_skip(llm_calls, _CALL_COLUMNS, returning="id")


async def save_sequences(session: AsyncSession, rows: Sequence[SequenceRow]) -> None:
    """Record variants and the gate's verdicts (each kept once per lead, campaign and variant), in one statement."""
    if not rows:
        return
    values: dict[str, list[Any]] = {
        "lead_id": [row.lead_id for row in rows],
        "campaign_id": [row.campaign_id for row in rows],
        "variant": [row.variant for row in rows],
        "status": [row.status for row in rows],
        "selected": [row.selected for row in rows],
        "writer": [row.writer for row in rows],
        "model": [row.model for row in rows],
        "prompt_version": [row.prompt_version for row in rows],
        "touches": [[touch.model_dump(mode="json") for touch in row.touches] for row in rows],
        "quality_score": [row.report.score for row in rows],
        "breakdown": [row.report.breakdown for row in rows],
        "failures": [row.report.failures for row in rows],
        "framework": [row.framework for row in rows],
        "personalization_level": [row.personalization_level for row in rows],
        "attempts": [row.attempts for row in rows],
        "reason_code": [row.reason_code for row in rows],
        "pending_event": [row.pending_event for row in rows],
        "published": [row.status == "generated" for row in rows],
    }
    await session.execute(_SAVE_SEQUENCES, values)


@dataclass(frozen=True)
class CallsOf:
    """One variant's model calls, for the cost log."""

    campaign_id: str
    lead_id: str
    variant: int
    prompt_version: str
    calls: list[CallRecord]


async def log_calls(session: AsyncSession, logged: Sequence[CallsOf]) -> None:
    """Append model calls to the cost log, all in one statement."""
    rows = [(of, call) for of in logged for call in of.calls]
    if not rows:
        return
    values: dict[str, list[Any]] = {
        "campaign_id": [of.campaign_id for of, _ in rows],
        "lead_id": [of.lead_id for of, _ in rows],
        "variant": [of.variant for of, _ in rows],
        "prompt_version": [of.prompt_version for of, _ in rows],
    }
    for name in _CALL_COLUMNS[4:]:
        values[name] = [getattr(call, name) for _, call in rows]
    await session.execute(_LOG_CALLS, values)


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
