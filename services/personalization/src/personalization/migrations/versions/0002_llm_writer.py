"""Claude writer: campaign policy and approval, sequence details, prompt versions (seeded), model cost log.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from personalization.prompts import BUILTIN, V1_CHANGE_SUMMARY

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None
SCHEMA = "personalization"


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("policy", postgresql.JSONB(), server_default="{}", nullable=False), schema=SCHEMA)
    op.add_column("campaigns", sa.Column("sending_approved_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.add_column("campaigns", sa.Column("sending_approved_by", sa.Text()), schema=SCHEMA)
    op.add_column("campaigns", sa.Column("budget_alerted_at", sa.DateTime(timezone=True)), schema=SCHEMA)

    op.alter_column("sequences", "status", type_=sa.String(24), schema=SCHEMA)
    op.add_column("sequences", sa.Column("selected", sa.Boolean(), server_default="false", nullable=False), schema=SCHEMA)
    op.add_column("sequences", sa.Column("framework", sa.String(40)), schema=SCHEMA)
    op.add_column("sequences", sa.Column("personalization_level", sa.String(16)), schema=SCHEMA)
    op.add_column("sequences", sa.Column("attempts", sa.Integer(), server_default="1", nullable=False), schema=SCHEMA)
    op.add_column("sequences", sa.Column("reason_code", sa.String(32)), schema=SCHEMA)
    op.add_column("sequences", sa.Column("pending_event", postgresql.JSONB()), schema=SCHEMA)
    op.add_column("sequences", sa.Column("published_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.create_index("ix_sequences_campaign_status", "sequences", ["campaign_id", "status"], schema=SCHEMA)

    versions = op.create_table(
        "prompt_versions",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("change_summary", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("name", "version"),
        schema=SCHEMA,
    )
    op.bulk_insert(
        versions,
        [
            {
                "name": BUILTIN.name,
                "version": BUILTIN.version,
                "content": BUILTIN.content,
                "active": True,
                "change_summary": V1_CHANGE_SUMMARY,
            }
        ],
    )
    op.create_table(
        "llm_calls",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("campaign_id", sa.String(64), nullable=False, index=True),
        sa.Column("lead_id", sa.String(64), nullable=False),
        sa.Column("variant", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("prompt_version", sa.String(64), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_read_tokens", sa.Integer(), nullable=False),
        sa.Column("cache_creation_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("stop_reason", sa.String(32)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("llm_calls", schema=SCHEMA)
    op.drop_table("prompt_versions", schema=SCHEMA)
    op.drop_index("ix_sequences_campaign_status", "sequences", schema=SCHEMA)
    for column in ("published_at", "pending_event", "reason_code", "attempts", "personalization_level", "framework"):
        op.drop_column("sequences", column, schema=SCHEMA)
    op.drop_column("sequences", "selected", schema=SCHEMA)
    for column in ("budget_alerted_at", "sending_approved_by", "sending_approved_at", "policy"):
        op.drop_column("campaigns", column, schema=SCHEMA)
