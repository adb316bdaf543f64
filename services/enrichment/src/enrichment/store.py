"""The `enrichment` schema."""

from sqlalchemy import BigInteger, Boolean, Column, DateTime, Integer, Numeric, String, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB

from coldstream_shared.db import service_metadata
from coldstream_shared.service import standard_tables

SCHEMA = "enrichment"
metadata = service_metadata(SCHEMA)
processed, outbox = standard_tables(metadata)

verifications = Table(
    "verifications",
    metadata,
    Column("lead_id", String(64), primary_key=True),
    Column("campaign_id", String(64), nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("verified_by", String(64), nullable=False),
    Column("reasons", JSONB, nullable=False),
    Column("detail", Text),
    Column("verified_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("enrichment", JSONB),
    Column("cost_usd", Numeric(12, 6)),
)

# The campaign's enrichment section, from campaign.started; budget_alerted_at makes the budget alert fire once.
campaigns = Table(
    "campaigns",
    metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("policy", JSONB, nullable=False),
    Column("budget_alerted_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Every provider call (seed 001's api_cost_log): what was called, for whom, how much it cost and whether it worked.
provider_calls = Table(
    "provider_calls",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("service", String(32), nullable=False),
    Column("operation", String(32), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("campaign_id", String(64), nullable=False, index=True),
    Column("lead_id", String(64)),
    Column("units", Integer, nullable=False),
    Column("cost_usd", Numeric(12, 6), nullable=False),
    Column("success", Boolean, nullable=False),
    Column("detail", Text),
    Column("called_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Company research, one row per domain (seed 000: company_research unique per domain), reused until expires_at.
company_research = Table(
    "company_research",
    metadata,
    Column("domain", String(255), primary_key=True),
    Column("fields", JSONB, nullable=False),
    Column("summary", Text),
    Column("summary_source", Text),
    Column("reasons", JSONB, nullable=False),
    Column("researched_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Who is researching a domain right now, across replicas: claimed before researching, taken over once expires_at
# (the database's clock) has passed, so a replica killed mid-research holds the domain for one lease at most.
research_leases = Table(
    "research_leases",
    metadata,
    Column("domain", String(255), primary_key=True),
    Column("holder", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
