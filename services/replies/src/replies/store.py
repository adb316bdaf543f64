"""The `replies` schema."""

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB

from coldstream_shared.db import service_metadata
from coldstream_shared.service import standard_tables

SCHEMA = "replies"
metadata = service_metadata(SCHEMA)
processed, outbox = standard_tables(metadata)

# Every webhook as it arrived, stored before it is applied. Instantly sends no event id, so the key is derived
# (see webhooks.dedup_key); a replay hits the primary key and is applied once.
webhook_inbox = Table(
    "webhook_inbox",
    metadata,
    Column("dedup_key", String(64), primary_key=True),
    Column("event_type", String(100), nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
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
