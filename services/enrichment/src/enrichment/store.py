"""The `enrichment` schema."""

from sqlalchemy import Column, DateTime, String, Table, Text, func
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
)
