"""Alembic environment for the enrichment schema only."""

from coldstream_shared.migrations import run_env
from enrichment.store import metadata

run_env(metadata)
