"""The `replies` schema."""

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from coldstream_shared.db import service_metadata
from coldstream_shared.service import standard_tables
from replies.stages import STAGES

SCHEMA = "replies"
metadata = service_metadata(SCHEMA)
processed, outbox = standard_tables(metadata)
REPLY_STATUSES = ("awaiting_model", "classified")
ACTION_KINDS = ("notify", "interest")

# Every webhook as it arrived, stored before it is applied. Instantly sends no event id, so the key is derived
# (see webhooks.dedup_key); a replay hits the primary key and is applied once. The 200 waits for this row only;
# `applied_at` is set in the transaction that applies the webhook (at once for types with nothing to apply), so
# a webhook stored but not yet applied when the process died is found again by the partial index.
webhook_inbox = Table(
    "webhook_inbox",
    metadata,
    Column("dedup_key", String(64), primary_key=True),
    Column("event_type", String(100), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("applied_at", DateTime(timezone=True)),
)
Index(
    "ix_replies_webhook_inbox_unapplied",
    webhook_inbox.c.received_at,
    postgresql_where=webhook_inbox.c.applied_at.is_(None),
)

# Projection of `email.sent`: attributes replies to leads and maps footer tokens to addresses.
sent_emails = Table(
    "sent_emails",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("email", String(320), nullable=False),
    Column("lead_id", String(64), nullable=False),
    Column("campaign_id", String(64), nullable=False),
    Column("step", Integer, nullable=False),
    Column("unsubscribe_token", String(200)),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)
Index("ix_replies_sent_emails_email", sent_emails.c.email)
Index("ix_replies_sent_emails_token", sent_emails.c.unsubscribe_token)

# One row per footer token that was used: makes the link idempotent however often it is clicked.
link_unsubscribes = Table(
    "link_unsubscribes",
    metadata,
    Column("unsubscribe_token", String(200), primary_key=True),
    Column("email", String(320), nullable=False),
    Column("lead_id", String(64)),
    Column("unsubscribed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# One row per reply, whichever way it came (webhook or poll): the two unique keys make a reply the webhook
# delivered and the poll found again the same row. `reply_id` is its `reply.received` event id.
inbound_replies = Table(
    "inbound_replies",
    metadata,
    Column("reply_id", Uuid, primary_key=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("provider_email_id", String(200), unique=True),
    Column("email", String(320), nullable=False),
    Column("lead_id", String(64)),
    Column("campaign_id", String(64)),
    Column("source", String(32), nullable=False),
    Column("received", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("status", String(20), nullable=False),
    Column("category", String(32)),
    Column("confidence", Float),
    Column("reasoning", Text),
    Column("key_phrase", Text),
    Column("return_date", Date),
    Column("referral_email", String(320)),
    Column("classifier", String(100)),
    Column("classified_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"status IN {REPLY_STATUSES!r}", name="status"),
)
Index("ix_replies_inbound_replies_campaign", inbound_replies.c.campaign_id, inbound_replies.c.received_at)

# Manual corrections, kept: who changed which reply from what to what, and when.
classification_overrides = Table(
    "classification_overrides",
    metadata,
    Column("override_id", Uuid, primary_key=True),
    Column("reply_id", Uuid, ForeignKey("inbound_replies.reply_id"), nullable=False),
    Column("previous_category", String(32)),
    Column("category", String(32), nullable=False),
    Column("overridden_by", String(200), nullable=False),
    Column("note", Text),
    Column("overridden_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Seed 001's pipeline stage per lead, kept from the events; the CHECK constraint is the seed's list.
lead_stages = Table(
    "lead_stages",
    metadata,
    Column("lead_id", String(64), primary_key=True),
    Column("campaign_id", String(64)),
    Column("stage", String(40), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"stage IN {STAGES!r}", name="stage"),
)

# "Not now" replies: when to try again (seed 001: recontact_date / recontact_note).
nurture = Table(
    "nurture",
    metadata,
    Column("email", String(320), primary_key=True),
    Column("lead_id", String(64)),
    Column("campaign_id", String(64)),
    Column("recontact_on", Date, nullable=False),
    Column("note", Text),
    Column("reply_id", Uuid, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Calls out (team notification, Instantly interest status) queued with the reply, delivered by a loop:
# a failing endpoint delays them but can never lose or block the reply.
pending_actions = Table(
    "pending_actions",
    metadata,
    Column("action_id", Uuid, primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("reply_id", Uuid, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("done_at", DateTime(timezone=True)),
    Column("failed_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"kind IN {ACTION_KINDS!r}", name="kind"),
)
Index(
    "ix_replies_pending_actions_due",
    pending_actions.c.next_attempt_at,
    postgresql_where=pending_actions.c.done_at.is_(None) & pending_actions.c.failed_at.is_(None),
)

# Seed 000's reply_monitoring_state: where the Instantly emails poll stopped.
poll_state = Table(
    "poll_state",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("cursor", String(200)),
    Column("seen", Integer, nullable=False, server_default="0"),
    Column("checked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
