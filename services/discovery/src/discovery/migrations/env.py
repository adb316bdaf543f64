"""Alembic environment for the discovery schema only."""

from coldstream_shared.migrations import run_env
from discovery.store import metadata

run_env(metadata)
