"""The `sending` schema: campaign projection, suppression list (authoritative) and the send ledger."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from coldstream_shared.db import service_metadata
from coldstream_shared.service import standard_tables

SCHEMA = "sending"
metadata = service_metadata(SCHEMA)
processed, outbox = standard_tables(metadata)

# What sending needs of `campaign.started` (event-carried state transfer; we never read discovery's schema).
campaigns = Table(
    "campaigns",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("team_id", String(64), nullable=False),
    Column("backend", String(16), nullable=False),
    Column("from_name", Text, nullable=False),
    Column("from_email", Text, nullable=False),
    Column("reply_to", Text),
    Column("step_delays", JSONB, nullable=False),  # delay_days per step, index 0 = step 1
    Column("business_days", Boolean, nullable=False),
    Column("sending_approval", String(16), nullable=False),
    Column("sending", JSONB, nullable=False),  # the whole sending section: windows, limits (issue 7)
    # Set while sending is paused (bounce alert or operator); nothing is reserved for a paused campaign.
    Column("paused_reason", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Permanent (promise 1): rows are added by events and the CLI; the only way one leaves is
# manage_suppressions.remove, which always writes an audit row. `value` is a normalised address or a bare domain.
suppressions = Table(
    "suppressions",
    metadata,
    Column("value", Text, primary_key=True),
    Column("scope", String(8), nullable=False),
    Column("reason", Text, nullable=False),
    Column("source", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # When the entry reached Instantly's blocklist (NULL: not yet, or no Instantly key configured).
    Column("mirrored_at", DateTime(timezone=True)),
    CheckConstraint("scope IN ('email', 'domain')", name="scope"),
)

# Who added or removed which entry, and why: removal is a deliberate manual act and must be traceable.
suppression_audit = Table(
    "suppression_audit",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("value", Text, nullable=False),
    Column("scope", String(8), nullable=False),
    Column("action", String(8), nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("source", String(32), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("action IN ('added', 'removed')", name="action"),
)
Index("ix_suppression_audit_value", suppression_audit.c.value)

# queued: reserved for a batched backend (Instantly), waiting for its upload batch.
# handed_over: a follow-up Instantly's own sequencer sends (its send is reported by Instantly's webhooks).
STATUSES = ("scheduled", "queued", "reserved", "sent", "handed_over", "failed", "cancelled", "suppressed")

# One row per touch. The unique key is what makes "nothing is sent twice" hold (promise 2).
send_ledger = Table(
    "send_ledger",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("team_id", String(64), nullable=False),
    Column("lead_id", String(64), nullable=False),
    Column("campaign_id", String(64), nullable=False),
    Column("step", Integer, nullable=False),
    Column("variant", Integer, nullable=False),
    Column("email", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("delay_days", Integer, nullable=False),
    Column("backend", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message_id", Text),
    Column("unsubscribe_token", String(64), unique=True),
    Column("due_at", DateTime(timezone=True)),
    Column("reserved_at", DateTime(timezone=True)),
    # When the current delivery attempt took the touch: attempts hold it for a lease, then others may take over.
    Column("attempt_at", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
    Column("error", Text),
    Column("causation_id", Uuid),
    Column("upload_batch", BigInteger),  # the Instantly upload batch that carried it
    Column("account", Text),  # the sending account (SMTP) that carried it
    Column("lead_timezone", Text),  # the lead's IANA timezone, for the SMTP send window
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("lead_id", "campaign_id", "step", name="uq_send_ledger_touch"),
    CheckConstraint(f"status IN {STATUSES!r}", name="status"),
)
Index("ix_send_ledger_due", send_ledger.c.due_at, postgresql_where=send_ledger.c.status == "scheduled")
Index("ix_send_ledger_email", send_ledger.c.email)
Index("ix_send_ledger_queued", send_ledger.c.campaign_id, postgresql_where=send_ledger.c.status == "queued")

# Our campaign at Instantly: created once (looked up by name after a crash, never created twice).
instantly_campaigns = Table(
    "instantly_campaigns",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("instantly_id", Text, nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # active | paused
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The upload batch log (seed 000: sending_logs): one row per leads/add call, written before the call.
upload_batches = Table(
    "upload_batches",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("campaign_id", String(64), nullable=False),
    Column("leads_sent", Integer, nullable=False),
    Column("leads_uploaded", Integer),
    Column("skipped", Integer),
    Column("status", String(16), nullable=False),  # pending | uploaded | failed
    Column("response", JSONB),  # Instantly's counters (no addresses)
    Column("error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
)

# Bounces per campaign, for the bounce-rate alert (one per address and campaign).
bounces = Table(
    "bounces",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("email", Text, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Alerts raised for a campaign (seed 000: campaign_alerts).
campaign_alerts = Table(
    "campaign_alerts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("campaign_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("action_taken", String(32)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("resolved_at", DateTime(timezone=True)),
)
