"""Initial enrichment schema.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from coldstream_shared.migrations import create_standard_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None
SCHEMA = "enrichment"


def upgrade() -> None:
    create_standard_tables(SCHEMA)
    op.create_table(
        "verifications",
        sa.Column("lead_id", sa.String(64), primary_key=True),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("verified_by", sa.String(64), nullable=False),
        sa.Column("reasons", postgresql.JSONB(), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("verified_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("verifications", schema=SCHEMA)
    op.drop_table("outbox", schema=SCHEMA)
    op.drop_table("processed_events", schema=SCHEMA)
