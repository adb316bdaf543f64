"""Seed 000 counters, approval gate, LinkedIn dedup key, exclusion log, domain suppressions, organisations.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
SCHEMA = "discovery"
COUNTERS = (
    "held",
    "duplicates_fuzzy",
    "cross_excluded",
    "excluded_emailed",
    "excluded_bounced",
    "excluded_unsubscribed",
    "excluded_event_window",
    "excluded_below_tier",
    "available",
    "scored",
    "score_total",
    "tier_a",
    "tier_b",
    "tier_c",
)
TIMES = (
    "validation_completed_at",
    "dedup_completed_at",
    "cross_dedup_completed_at",
    "scoring_completed_at",
    "leads_approved_at",
)


def upgrade() -> None:
    for name in COUNTERS:
        op.add_column("campaigns", sa.Column(name, sa.Integer(), server_default="0", nullable=False), schema=SCHEMA)
    for name in TIMES:
        op.add_column("campaigns", sa.Column(name, sa.DateTime(timezone=True)), schema=SCHEMA)
    op.add_column("campaigns", sa.Column("leads_approved_by", sa.Text()), schema=SCHEMA)
    op.add_column("leads", sa.Column("linkedin_url", sa.Text()), schema=SCHEMA)
    op.add_column("leads", sa.Column("trace_carrier", postgresql.JSONB()), schema=SCHEMA)
    op.create_index("ix_leads_campaign_id_linkedin_url", "leads", ["campaign_id", "linkedin_url"], schema=SCHEMA)
    op.create_index("ix_leads_email", "leads", ["email"], schema=SCHEMA)
    # Only held leads are looked up by status (the approval release); a partial index stays tiny.
    op.create_index(
        "ix_leads_held", "leads", ["campaign_id"], schema=SCHEMA, postgresql_where=sa.text("status = 'held'")
    )
    op.create_table(
        "suppressed_domains",
        sa.Column("domain", sa.Text(), primary_key=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("suppressed_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "exclusions",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("lead_id", sa.String(64), primary_key=True),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("evidence_at", sa.DateTime(timezone=True)),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "organisations",
        sa.Column("domain", sa.Text(), primary_key=True),
        sa.Column("name", sa.Text()),
        sa.Column("industry", sa.Text()),
        sa.Column("company_size", sa.Integer()),
        sa.Column("country", sa.Text()),
        sa.Column("first_campaign_id", sa.String(64), nullable=False),
        sa.Column("leads", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("organisations", "exclusions", "suppressed_domains"):
        op.drop_table(table, schema=SCHEMA)
    for index in ("ix_leads_held", "ix_leads_email", "ix_leads_campaign_id_linkedin_url"):
        op.drop_index(index, table_name="leads", schema=SCHEMA)
    for column in ("trace_carrier", "linkedin_url"):
        op.drop_column("leads", column, schema=SCHEMA)
    for column in (*COUNTERS, *TIMES, "leads_approved_by"):
        op.drop_column("campaigns", column, schema=SCHEMA)
