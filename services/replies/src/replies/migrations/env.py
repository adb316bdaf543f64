"""Alembic environment for the replies schema only."""

from coldstream_shared.migrations import run_env
from replies.store import metadata

run_env(metadata)
