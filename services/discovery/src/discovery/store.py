"""The `discovery` schema: campaigns with their import cursor, every input row's outcome, leads, known contacts."""

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    SmallInteger,
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

SCHEMA = "discovery"
metadata = service_metadata(SCHEMA)
processed, outbox = standard_tables(metadata)


def _counter(name: str) -> Column[int]:
    return Column(name, Integer, nullable=False, server_default="0")


campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("team_id", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("spec", JSONB, nullable=False),
    Column("status", String(16), nullable=False),  # importing | imported | failed
    Column("error", Text),
    Column("started_event_id", Uuid, nullable=False),
    # Counters; rows_read = published + invalid + duplicates + excluded, and valid = rows_read - invalid.
    _counter("rows_read"),
    _counter("valid"),
    _counter("invalid"),
    _counter("duplicates"),
    _counter("excluded"),
    _counter("published"),
    # Import cursor: the last row whose outcome is recorded (source index, row number); resume after it.
    _counter("cursor_source"),
    _counter("cursor_row"),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("imported_at", DateTime(timezone=True)),
)

# One row per input row, whatever became of it: nothing read is ever silently dropped.
lead_rows = Table(
    "lead_rows",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("source_index", Integer, primary_key=True),
    Column("row_number", Integer, primary_key=True),
    Column("lead_id", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),  # published | rejected | duplicate | excluded
    Column("email", Text),
    Column("reason_code", String(64)),
    Column("reason", Text),
    Column("duplicate_of", String(64)),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# One lead per (campaign, normalised email): the first row with an address wins, later ones are duplicates.
leads = Table(
    "leads",
    metadata,
    Column("lead_id", String(64), primary_key=True),
    Column("campaign_id", String(64), nullable=False),
    Column("email", Text, nullable=False),
    Column("status", String(16), nullable=False),  # published | excluded
    Column("data", JSONB, nullable=False),
    Column("source", String(300), nullable=False),
    Column("source_index", Integer, nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("score", SmallInteger),
    Column("tier", String(1)),
    Column("score_breakdown", JSONB),  # rule -> points (see scoring.py)
    # For fuzzy duplicates across import batches: the same person at another address of the same company.
    Column("company_domain", Text),
    Column("name_key", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("campaign_id", "email", name="uq_leads_campaign_id_email"),
    Index("ix_leads_campaign_id_company_domain", "campaign_id", "company_domain"),
)

# Projection of other services' facts about addresses (lead.unsubscribed, lead.bounced, email.sent).
contacts = Table(
    "contacts",
    metadata,
    Column("email", Text, primary_key=True),
    Column("suppressed_reason", String(32)),  # unsubscribed | bounced; never cleared once set
    Column("suppressed_at", DateTime(timezone=True)),
    Column("last_emailed_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
