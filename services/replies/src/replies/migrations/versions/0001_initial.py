"""Initial replies schema.

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
SCHEMA = "replies"


def upgrade() -> None:
    create_standard_tables(SCHEMA)
    op.create_table(
        "webhook_inbox",
        sa.Column("dedup_key", sa.String(64), primary_key=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "sent_emails",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("lead_id", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("unsubscribe_token", sa.String(200)),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("ix_replies_sent_emails_email", "sent_emails", ["email"], schema=SCHEMA)
    op.create_index("ix_replies_sent_emails_token", "sent_emails", ["unsubscribe_token"], schema=SCHEMA)
    op.create_table(
        "link_unsubscribes",
        sa.Column("unsubscribe_token", sa.String(200), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("lead_id", sa.String(64)),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("link_unsubscribes", schema=SCHEMA)
    op.drop_table("sent_emails", schema=SCHEMA)
    op.drop_table("webhook_inbox", schema=SCHEMA)
    op.drop_table("outbox", schema=SCHEMA)
    op.drop_table("processed_events", schema=SCHEMA)
