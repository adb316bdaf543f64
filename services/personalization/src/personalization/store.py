"""The `personalization` schema: the campaign projection and the generated sequences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Float, Integer, String, Table, Text, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from coldstream_shared.campaign import Offer, Step
from coldstream_shared.db import service_metadata
from coldstream_shared.events import Touch
from coldstream_shared.service import standard_tables
from personalization.campaign import Campaign
from personalization.quality import QualityReport
from personalization.writer import SequenceWriter

SCHEMA = "personalization"
metadata = service_metadata(SCHEMA)
processed, outbox = standard_tables(metadata)

campaigns = Table(
    "campaigns",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("offer", JSONB, nullable=False),
    Column("steps", JSONB, nullable=False),
    Column("from_name", Text, nullable=False),
    Column("from_email", Text, nullable=False),
    Column("sending_approval", String(16), nullable=False),
    Column("variants", Integer, nullable=False, server_default="1"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

sequences = Table(
    "sequences",
    metadata,
    Column("lead_id", String(64), primary_key=True),
    Column("campaign_id", String(64), primary_key=True),
    Column("variant", Integer, primary_key=True),
    # "generated" (published as email.generated) or "rejected" (failed the gate; kept for review).
    Column("status", String(16), nullable=False),
    Column("writer", String(16), nullable=False),
    Column("model", String(128), nullable=False),
    Column("prompt_version", String(64), nullable=False),
    Column("touches", JSONB, nullable=False),
    Column("quality_score", Float, nullable=False),
    Column("breakdown", JSONB, nullable=False),
    Column("failures", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


async def save_campaign(session: AsyncSession, campaign: Campaign, started_at: datetime) -> None:
    """Insert or refresh the projection; an older `campaign.started` never overwrites a newer one."""
    values: dict[str, Any] = {
        "campaign_id": campaign.campaign_id,
        "offer": campaign.offer.model_dump(mode="json"),
        "steps": [step.model_dump(mode="json") for step in campaign.steps],
        "from_name": campaign.from_name,
        "from_email": campaign.from_email,
        "sending_approval": campaign.sending_approval,
        "variants": campaign.variants,
        "started_at": started_at,
    }
    statement = insert(campaigns).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[campaigns.c.campaign_id],
            set_={
                **{key: statement.excluded[key] for key in values if key != "campaign_id"},
                "updated_at": func.now(),
            },
            where=campaigns.c.started_at <= statement.excluded.started_at,
        )
    )


async def load_campaign(session: AsyncSession, campaign_id: str) -> Campaign | None:
    """The projection of one campaign, or None when its `campaign.started` has not been applied yet."""
    row = (await session.execute(select(campaigns).where(campaigns.c.campaign_id == campaign_id))).first()
    if row is None:
        return None
    return Campaign(
        campaign_id=row.campaign_id,
        offer=Offer.model_validate(row.offer),
        steps=tuple(Step.model_validate(step) for step in row.steps),
        from_name=row.from_name,
        from_email=row.from_email,
        sending_approval=row.sending_approval,
        variants=row.variants,
    )


async def save_sequence(
    session: AsyncSession,
    lead_id: str,
    campaign_id: str,
    variant: int,
    writer: SequenceWriter,
    touches: list[Touch],
    report: QualityReport,
) -> None:
    """Record a written sequence and the gate's verdict (kept once per lead, campaign and variant)."""
    await session.execute(
        insert(sequences)
        .values(
            lead_id=lead_id,
            campaign_id=campaign_id,
            variant=variant,
            status="generated" if report.passed else "rejected",
            writer=writer.writer,
            model=writer.model,
            prompt_version=writer.prompt_version,
            touches=[touch.model_dump(mode="json") for touch in touches],
            quality_score=report.score,
            breakdown=report.breakdown,
            failures=report.failures,
        )
        .on_conflict_do_nothing()
    )
