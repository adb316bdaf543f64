"""Each service owns a schema with its own Alembic version table."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream.migrate import SERVICES, migrate_all

pytestmark = pytest.mark.integration


async def test_migrate_creates_five_schemas_each_with_its_own_version_table(fresh_database_url: str) -> None:
    await asyncio.to_thread(migrate_all, fresh_database_url)
    await asyncio.to_thread(migrate_all, fresh_database_url)  # idempotent
    engine = create_async_engine(fresh_database_url)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT table_schema FROM information_schema.tables WHERE table_name = 'alembic_version'")
        )
        version_schemas = sorted(r[0] for r in rows)
        public = await conn.scalar(text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"))
    await engine.dispose()
    assert version_schemas == sorted(SERVICES)
    assert public == 0, "no service writes outside its own schema"
