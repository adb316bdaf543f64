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

STATUSES = ("scheduled", "reserved", "sent", "failed", "cancelled", "suppressed")

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
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("lead_id", "campaign_id", "step", name="uq_send_ledger_touch"),
    CheckConstraint(f"status IN {STATUSES!r}", name="status"),
)
Index("ix_send_ledger_due", send_ledger.c.due_at, postgresql_where=send_ledger.c.status == "scheduled")
Index("ix_send_ledger_email", send_ledger.c.email)
