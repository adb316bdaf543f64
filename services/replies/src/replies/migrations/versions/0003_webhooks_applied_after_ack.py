"""Webhooks are acknowledged once stored and applied just after: `webhook_inbox.applied_at` marks the applied ones.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
SCHEMA = "replies"


def upgrade() -> None:
    op.add_column("webhook_inbox", sa.Column("applied_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    # Until now a webhook was applied in the transaction that stored it.
    op.execute(f"UPDATE {SCHEMA}.webhook_inbox SET applied_at = received_at")
    op.create_index(
        "ix_replies_webhook_inbox_unapplied",
        "webhook_inbox",
        ["received_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("applied_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_replies_webhook_inbox_unapplied", table_name="webhook_inbox", schema=SCHEMA)
    op.drop_column("webhook_inbox", "applied_at", schema=SCHEMA)
