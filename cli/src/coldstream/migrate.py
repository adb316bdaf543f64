"""`coldstream migrate`: bring every service's schema to its latest revision."""

from __future__ import annotations

import os

from coldstream_shared.migrations import upgrade

SERVICES = ("discovery", "enrichment", "personalization", "sending", "replies")


def migrate_all(database_url: str) -> None:
    """Run each service's own Alembic chain (each keeps its version table in its own schema)."""
    for service in SERVICES:
        upgrade(service, database_url)


if __name__ == "__main__":
    migrate_all(os.environ.get("COLDSTREAM_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:54329/coldstream"))
