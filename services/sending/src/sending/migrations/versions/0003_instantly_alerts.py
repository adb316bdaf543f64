"""Issue 7: Instantly mapping and upload batch log, bounce alerts, pause state, blocklist mirroring, new statuses.

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
SCHEMA = "sending"
STATUSES = ("scheduled", "queued", "reserved", "sent", "handed_over", "failed", "cancelled", "suppressed")
OLD_STATUSES = ("scheduled", "reserved", "sent", "failed", "cancelled", "suppressed")


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("paused_reason", sa.Text()), schema=SCHEMA)
    op.add_column("suppressions", sa.Column("mirrored_at", sa.DateTime(timezone=True)), schema=SCHEMA)
    op.add_column("send_ledger", sa.Column("upload_batch", sa.BigInteger()), schema=SCHEMA)
    op.add_column("send_ledger", sa.Column("account", sa.Text()), schema=SCHEMA)
    op.add_column("send_ledger", sa.Column("lead_timezone", sa.Text()), schema=SCHEMA)
    _replace_status_check(STATUSES)
    op.create_index(
        "ix_send_ledger_queued",
        "send_ledger",
        ["campaign_id"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_table(
        "instantly_campaigns",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("instantly_id", sa.Text(), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "upload_batches",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("leads_sent", sa.Integer(), nullable=False),
        sa.Column("leads_uploaded", sa.Integer()),
        sa.Column("skipped", sa.Integer()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("response", postgresql.JSONB()),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_table(
        "bounces",
        sa.Column("campaign_id", sa.String(64), primary_key=True),
        sa.Column("email", sa.Text(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "campaign_alerts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("action_taken", sa.String(32)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("campaign_alerts", "bounces", "upload_batches", "instantly_campaigns"):
        op.drop_table(table, schema=SCHEMA)
    op.drop_index("ix_send_ledger_queued", "send_ledger", schema=SCHEMA)
    _replace_status_check(OLD_STATUSES)
    op.drop_column("send_ledger", "lead_timezone", schema=SCHEMA)
    op.drop_column("send_ledger", "account", schema=SCHEMA)
    op.drop_column("send_ledger", "upload_batch", schema=SCHEMA)
    op.drop_column("suppressions", "mirrored_at", schema=SCHEMA)
    op.drop_column("campaigns", "paused_reason", schema=SCHEMA)


def _replace_status_check(statuses: tuple[str, ...]) -> None:
    # Raw SQL: the metadata naming convention would otherwise rename the constraint (ck_<table>_ck_<table>_...).
    for name in ("ck_send_ledger_status", "ck_send_ledger_ck_send_ledger_status"):
        op.execute(f"ALTER TABLE {SCHEMA}.send_ledger DROP CONSTRAINT IF EXISTS {name}")
    op.execute(
        f"ALTER TABLE {SCHEMA}.send_ledger ADD CONSTRAINT ck_send_ledger_status CHECK (status IN {statuses!r})"
    )
