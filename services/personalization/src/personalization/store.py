"""The `personalization` schema: campaign projection, sequences, prompt versions and the model cost log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Identity,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from coldstream_shared.campaign import Offer, PersonalizationPolicy, Step
from coldstream_shared.db import service_metadata
from coldstream_shared.service import standard_tables
from personalization.campaign import Campaign

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
    Column("policy", JSONB, nullable=False, server_default="{}"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Set by campaign.approved (stage sending): from then on sequences are published as they are written.
    Column("sending_approved_at", DateTime(timezone=True)),
    Column("sending_approved_by", Text),
    # Set once, when the budget first stops generation: the alert is sent exactly once.
    Column("budget_alerted_at", DateTime(timezone=True)),
)

sequences = Table(
    "sequences",
    metadata,
    Column("lead_id", String(64), primary_key=True),
    Column("campaign_id", String(64), primary_key=True),
    Column("variant", Integer, primary_key=True),
    # generated (published) | awaiting_approval | held | unused (a passing variant another one was chosen over)
    Column("status", String(24), nullable=False),
    Column("selected", Boolean, nullable=False, server_default="false"),
    Column("writer", String(16), nullable=False),
    Column("model", String(128), nullable=False),
    Column("prompt_version", String(64), nullable=False),
    Column("touches", JSONB, nullable=False),
    Column("quality_score", Float, nullable=False),
    Column("breakdown", JSONB, nullable=False),
    Column("failures", JSONB, nullable=False),
    Column("framework", String(40)),
    Column("personalization_level", String(16)),
    Column("attempts", Integer, nullable=False, server_default="1"),
    Column("reason_code", String(32)),
    # The email.generated to publish when the campaign's sending is approved (manual approval only).
    Column("pending_event", JSONB),
    Column("published_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

prompt_versions = Table(
    "prompt_versions",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("version", String(32), nullable=False),
    Column("content", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default="false"),
    Column("change_summary", Text, nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("name", "version"),
)

llm_calls = Table(
    "llm_calls",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("campaign_id", String(64), nullable=False, index=True),
    Column("lead_id", String(64), nullable=False),
    Column("variant", Integer, nullable=False),
    Column("model", String(128), nullable=False),
    Column("prompt_version", String(64), nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cache_read_tokens", Integer, nullable=False),
    Column("cache_creation_tokens", Integer, nullable=False),
    Column("latency_ms", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("stop_reason", String(32)),
    Column("outcome", String(16), nullable=False),
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
        "policy": campaign.policy.model_dump(mode="json"),
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


def _campaign(row: Any) -> Campaign:
    return Campaign(
        campaign_id=row.campaign_id,
        offer=Offer.model_validate(row.offer),
        steps=tuple(Step.model_validate(step) for step in row.steps),
        from_name=row.from_name,
        from_email=row.from_email,
        sending_approval=row.sending_approval,
        variants=row.variants,
        policy=PersonalizationPolicy.model_validate(row.policy or {}),
    )


# Built once, so each execution finds its compiled form in SQLAlchemy's cache without building the statement again.
_LOAD_CAMPAIGN = select(campaigns).where(campaigns.c.campaign_id == bindparam("campaign_id"))
_SENDING_APPROVED = (
    select(campaigns.c.sending_approval, campaigns.c.sending_approved_at)
    .where(campaigns.c.campaign_id == bindparam("campaign_id"))
    .with_for_update(read=True)
)


async def load_campaign(db: AsyncSession | AsyncConnection, campaign_id: str) -> Campaign | None:
    """The projection of one campaign, or None when its `campaign.started` has not been applied yet."""
    row = (await db.execute(_LOAD_CAMPAIGN, {"campaign_id": campaign_id})).first()
    return None if row is None else _campaign(row)


async def sending_approved(session: AsyncSession, campaign_id: str) -> bool:
    """Whether sequences may flow on; locks the campaign row (FOR SHARE) so an approval committing at the same
    time waits for this transaction, and then sees (and releases) what it stored."""
    row = (await session.execute(_SENDING_APPROVED, {"campaign_id": campaign_id})).one()
    return row.sending_approval == "auto" or row.sending_approved_at is not None
