"""The fixed-text inserts against a real Postgres: rows in bulk, conflicts skipped, and the columns' own checks kept."""

from __future__ import annotations

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream_shared.sql import insert_many_or_skip

metadata = MetaData(schema="sqltest")
leads = Table(
    "leads",
    metadata,
    Column("lead_id", String(8), primary_key=True),
    Column("score", Integer),
    Column("tags", JSON),
)


@pytest.fixture
async def engine(fresh_database_url: str):  # type: ignore[no-untyped-def]
    engine = create_async_engine(fresh_database_url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE SCHEMA sqltest"))
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def test_many_rows_in_one_statement_skipping_conflicts(engine) -> None:  # type: ignore[no-untyped-def]
    statement = insert_many_or_skip(leads, ["lead_id", "score", "tags"], "lead_id")
    async with engine.begin() as conn:
        rows = {"lead_id": ["a", "b", "a"], "score": [1, 2, 3], "tags": [["x"], [], ["y", "z"]]}
        inserted = (await conn.execute(statement, rows)).scalars().all()
        stored = (await conn.execute(text("SELECT lead_id, tags FROM sqltest.leads ORDER BY lead_id"))).all()
    assert sorted(inserted) == ["a", "b"]
    assert [row.lead_id for row in stored] == ["a", "b"]
    assert stored[1].tags == []  # a list value stays one JSON value, not an array level


async def test_an_over_long_value_is_refused_not_cut(engine) -> None:  # type: ignore[no-untyped-def]
    # A cast to varchar(8)[] would cut "lead-123456" to "lead-123" silently (and collide with another lead).
    statement = insert_many_or_skip(leads, ["lead_id", "score", "tags"], "lead_id")
    with pytest.raises(DBAPIError) as refused:
        async with engine.begin() as conn:
            await conn.execute(statement, {"lead_id": ["lead-123456"], "score": [1], "tags": [None]})
    assert getattr(refused.value.orig, "sqlstate", None) == "22001"  # string data right truncation
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM sqltest.leads"))).scalar() == 0
