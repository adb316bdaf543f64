"""The `discovery` schema: campaigns with their import cursor, every input row's outcome, leads, known contacts."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    any_,
    func,
    literal,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

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
    # Seed 000's per-stage counters (see docs/services/discovery.md for how they add up).
    _counter("held"),  # scored, waiting for `campaign approve --stage leads` (approvals.leads: manual)
    _counter("duplicates_fuzzy"),  # part of `duplicates`
    _counter("cross_excluded"),  # part of `excluded`: emailed recently, bounced, unsubscribed
    _counter("excluded_emailed"),
    _counter("excluded_bounced"),
    _counter("excluded_unsubscribed"),
    _counter("excluded_event_window"),  # part of `excluded`
    _counter("excluded_below_tier"),  # part of `excluded`
    _counter("available"),  # unique valid leads left after the cross-campaign exclusion
    _counter("scored"),
    _counter("score_total"),  # avg score = score_total / scored
    _counter("tier_a"),
    _counter("tier_b"),
    _counter("tier_c"),
    # Import cursor: the last row whose outcome is recorded (source index, row number); resume after it.
    _counter("cursor_source"),
    _counter("cursor_row"),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("imported_at", DateTime(timezone=True)),
    # Rows flow through every stage one batch at a time, so the stages complete together with the import.
    Column("validation_completed_at", DateTime(timezone=True)),
    Column("dedup_completed_at", DateTime(timezone=True)),
    Column("cross_dedup_completed_at", DateTime(timezone=True)),
    Column("scoring_completed_at", DateTime(timezone=True)),
    Column("leads_approved_at", DateTime(timezone=True)),
    Column("leads_approved_by", Text),
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
    Column("status", String(16), nullable=False),  # published | held | excluded
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
    Column("linkedin_url", Text),  # canonical; an exact duplicate key like the email
    Column("trace_carrier", JSONB),  # a held lead's trace context, so its release continues the same trace
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("campaign_id", "email", name="uq_leads_campaign_id_email"),
    Index("ix_leads_campaign_id_company_domain", "campaign_id", "company_domain"),
    Index("ix_leads_campaign_id_linkedin_url", "campaign_id", "linkedin_url"),
    Index("ix_leads_email", "email"),  # the known-emails set, across campaigns
    Index("ix_leads_held", "campaign_id", postgresql_where=text("status = 'held'")),
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

# A `lead.unsubscribed` with scope "domain": nobody at the domain is imported again.
suppressed_domains = Table(
    "suppressed_domains",
    metadata,
    Column("domain", Text, primary_key=True),
    Column("reason", String(32), nullable=False),
    Column("suppressed_at", DateTime(timezone=True), nullable=False),
)

# The exclusion log (seed 000 cross_campaign_dedup_logs, per contact): why a lead of this campaign was left out.
exclusions = Table(
    "exclusions",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("lead_id", String(64), primary_key=True),
    Column("email", Text, nullable=False),
    Column("reason", String(32), nullable=False),  # emailed | bounced | unsubscribed | domain_unsubscribed | ...
    Column("evidence_at", DateTime(timezone=True)),  # when it was emailed / suppressed
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Organisations, deduplicated by company domain across campaigns (seed 001): the known-domains set.
organisations = Table(
    "organisations",
    metadata,
    Column("domain", Text, primary_key=True),
    Column("name", Text),
    Column("industry", Text),
    Column("company_size", Integer),
    Column("country", Text),
    Column("first_campaign_id", String(64), nullable=False),
    Column("leads", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def any_of(values: Iterable[str]) -> ColumnElement[Any]:
    """`= ANY($1)` with one array parameter, not `IN ($1, ..., $n)`: the statement's text is the same for every
    batch, so asyncpg prepares it once and SQLAlchemy compiles it once (a batch of 1,000 addresses otherwise
    renders 1,000 parameters and is parsed and planned anew each time)."""
    return any_(literal(list(values), ARRAY(Text)))
