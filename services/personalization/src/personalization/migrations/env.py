"""Alembic environment for the personalization schema only."""

from coldstream_shared.migrations import run_env
from personalization.store import metadata

run_env(metadata)
