"""Campaign policies, the provider cost log, the company research cache, enrichment on verifications.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
SCHEMA = "enrichment"


def upgrade() -> None:
    op.add_column("verifications", sa.Column("enrichment", postgresql.JSONB()), schema=SCHEMA)
    op.add_column("verifications", sa.Column("cost_usd", sa.Numeric(12, 6)), schema=SCHEMA)
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("policy", postgresql.JSONB(), nullable=False),
        sa.Column("budget_alerted_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "provider_calls",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("lead_id", sa.String(64)),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Numeric(12, 6), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("called_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_provider_calls_campaign_id", "provider_calls", ["campaign_id"], schema=SCHEMA)
    op.create_table(
        "company_research",
        sa.Column("domain", sa.String(255), primary_key=True),
        sa.Column("fields", postgresql.JSONB(), nullable=False),
        sa.Column("summary", sa.Text()),
        sa.Column("summary_source", sa.Text()),
        sa.Column("reasons", postgresql.JSONB(), nullable=False),
        sa.Column("researched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("company_research", schema=SCHEMA)
    op.drop_index("ix_provider_calls_campaign_id", "provider_calls", schema=SCHEMA)
    op.drop_table("provider_calls", schema=SCHEMA)
    op.drop_table("campaigns", schema=SCHEMA)
    op.drop_column("verifications", "cost_usd", schema=SCHEMA)
    op.drop_column("verifications", "enrichment", schema=SCHEMA)
