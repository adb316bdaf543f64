"""Initial sending schema: campaign projection, suppression list, send ledger.

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
SCHEMA = "sending"
STATUSES = ("scheduled", "reserved", "sent", "failed", "cancelled", "suppressed")


def upgrade() -> None:
    create_standard_tables(SCHEMA)
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("from_name", sa.Text(), nullable=False),
        sa.Column("from_email", sa.Text(), nullable=False),
        sa.Column("reply_to", sa.Text()),
        sa.Column("step_delays", postgresql.JSONB(), nullable=False),
        sa.Column("business_days", sa.Boolean(), nullable=False),
        sa.Column("sending_approval", sa.String(16), nullable=False),
        sa.Column("sending", postgresql.JSONB(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "suppressions",
        sa.Column("value", sa.Text(), primary_key=True),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("scope IN ('email', 'domain')", name="ck_suppressions_scope"),
        schema=SCHEMA,
    )
    op.create_table(
        "send_ledger",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("lead_id", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("variant", sa.Integer(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("delay_days", sa.Integer(), nullable=False),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message_id", sa.Text()),
        sa.Column("unsubscribe_token", sa.String(64)),
        sa.Column("due_at", sa.DateTime(timezone=True)),
        sa.Column("reserved_at", sa.DateTime(timezone=True)),
        sa.Column("attempt_at", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("error", sa.Text()),
        sa.Column("causation_id", sa.Uuid()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("lead_id", "campaign_id", "step", name="uq_send_ledger_touch"),
        sa.UniqueConstraint("unsubscribe_token", name="uq_send_ledger_unsubscribe_token"),
        sa.CheckConstraint(f"status IN {STATUSES!r}", name="ck_send_ledger_status"),
        schema=SCHEMA,
    )
    op.create_index("ix_send_ledger_due", "send_ledger", ["due_at"], schema=SCHEMA,
                    postgresql_where=sa.text("status = 'scheduled'"))
    op.create_index("ix_send_ledger_email", "send_ledger", ["email"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("send_ledger", schema=SCHEMA)
    op.drop_table("suppressions", schema=SCHEMA)
    op.drop_table("campaigns", schema=SCHEMA)
    op.drop_table("outbox", schema=SCHEMA)
    op.drop_table("processed_events", schema=SCHEMA)
