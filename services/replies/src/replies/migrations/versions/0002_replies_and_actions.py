"""Replies, overrides, pipeline stages, nurture, queued actions and the poll cursor.

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
SCHEMA = "replies"
# Seed 001's pipeline stages; keep in step with replies.stages.STAGES.
STAGES = (
    "discovered", "enriched", "scored", "qualified", "rejected", "in_sequence", "touch_1_sent", "touch_2_sent",
    "touch_3_sent", "replied_interested", "call_permission_sent", "call_permission_granted", "call_attempted",
    "booked", "meeting_held", "became_client", "nurture", "closed_lost", "unsubscribed",
)


def upgrade() -> None:
    op.create_table(
        "inbound_replies",
        sa.Column("reply_id", sa.Uuid(), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("provider_email_id", sa.String(200)),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("lead_id", sa.String(64)),
        sa.Column("campaign_id", sa.String(64)),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("received", postgresql.JSONB(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("category", sa.String(32)),
        sa.Column("confidence", sa.Float()),
        sa.Column("reasoning", sa.Text()),
        sa.Column("key_phrase", sa.Text()),
        sa.Column("return_date", sa.Date()),
        sa.Column("referral_email", sa.String(320)),
        sa.Column("classifier", sa.String(100)),
        sa.Column("classified_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("fingerprint", name="uq_inbound_replies_fingerprint"),
        sa.UniqueConstraint("provider_email_id", name="uq_inbound_replies_provider_email_id"),
        sa.CheckConstraint("status IN ('awaiting_model', 'classified')", name="ck_inbound_replies_status"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_replies_inbound_replies_campaign", "inbound_replies", ["campaign_id", "received_at"], schema=SCHEMA
    )
    op.create_table(
        "classification_overrides",
        sa.Column("override_id", sa.Uuid(), primary_key=True),
        sa.Column("reply_id", sa.Uuid(), sa.ForeignKey(f"{SCHEMA}.inbound_replies.reply_id"), nullable=False),
        sa.Column("previous_category", sa.String(32)),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("overridden_by", sa.String(200), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("overridden_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "lead_stages",
        sa.Column("lead_id", sa.String(64), primary_key=True),
        sa.Column("campaign_id", sa.String(64)),
        sa.Column("stage", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(f"stage IN {STAGES!r}", name="ck_lead_stages_stage"),
        schema=SCHEMA,
    )
    op.create_table(
        "nurture",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("lead_id", sa.String(64)),
        sa.Column("campaign_id", sa.String(64)),
        sa.Column("recontact_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("reply_id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "pending_actions",
        sa.Column("action_id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("reply_id", sa.Uuid(), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.Column("failed_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("kind IN ('notify', 'interest')", name="ck_pending_actions_kind"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_replies_pending_actions_due",
        "pending_actions",
        ["next_attempt_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("done_at IS NULL AND failed_at IS NULL"),
    )
    op.create_table(
        "poll_state",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("cursor", sa.String(200)),
        sa.Column("seen", sa.Integer(), server_default="0", nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("poll_state", "pending_actions", "nurture", "lead_stages", "classification_overrides"):
        op.drop_table(table, schema=SCHEMA)
    op.drop_table("inbound_replies", schema=SCHEMA)
