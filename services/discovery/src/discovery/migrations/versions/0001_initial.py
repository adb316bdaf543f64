"""Initial discovery schema.

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
SCHEMA = "discovery"


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def upgrade() -> None:
    create_standard_tables(SCHEMA)
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("spec", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("started_event_id", sa.Uuid(), nullable=False),
        _counter("rows_read"),
        _counter("valid"),
        _counter("invalid"),
        _counter("duplicates"),
        _counter("excluded"),
        _counter("published"),
        _counter("cursor_source"),
        _counter("cursor_row"),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_table(
        "lead_rows",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("source_index", sa.Integer(), primary_key=True),
        sa.Column("row_number", sa.Integer(), primary_key=True),
        sa.Column("lead_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("email", sa.Text()),
        sa.Column("reason_code", sa.String(64)),
        sa.Column("reason", sa.Text()),
        sa.Column("duplicate_of", sa.String(64)),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "leads",
        sa.Column("lead_id", sa.String(64), primary_key=True),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("source_index", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("score", sa.SmallInteger()),
        sa.Column("tier", sa.String(1)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("campaign_id", "email", name="uq_leads_campaign_id_email"),
        schema=SCHEMA,
    )
    op.create_table(
        "contacts",
        sa.Column("email", sa.Text(), primary_key=True),
        sa.Column("suppressed_reason", sa.String(32)),
        sa.Column("suppressed_at", sa.DateTime(timezone=True)),
        sa.Column("last_emailed_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("contacts", "leads", "lead_rows", "campaigns", "outbox", "processed_events"):
        op.drop_table(table, schema=SCHEMA)
