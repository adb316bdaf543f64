"""Alembic environment for the sending schema only."""

from coldstream_shared.migrations import run_env
from sending.store import metadata

run_env(metadata)
