"""Lead files fuzzed through discovery's whole import on real Postgres: the campaign is imported with every row
recorded once (counters add up) or fails as a whole with a message and an alert; nothing else escapes."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from coldstream_shared.dead_letters import MAX_EVENT_BYTES
from coldstream_shared.errors import PermanentError
from coldstream_shared.service import Runtime
from discovery.address_rules import COLUMNS_NOT_KEPT
from discovery.import_campaign import ImportCampaign
from discovery.testing import direct_runtime
from tests.property.csv_files import LEAD_FILES
from tests.property.test_csv_import_fuzz import started

pytestmark = pytest.mark.integration

FUZZ = settings(
    max_examples=40,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # each example is a real import: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
async def runtime(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Runtime]:
    async with direct_runtime(nats_url, fresh_database_url, tmp_path, migrate=True) as runtime:
        yield runtime


@pytest.fixture
async def database(runtime: Runtime) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(runtime.settings.database_url)
    yield engine
    await engine.dispose()


async def fetch(engine: AsyncEngine, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(text(sql), params)).mappings()]


async def import_file(runtime: Runtime, database: AsyncEngine, folder: Path, content: bytes) -> str:
    """Import `content` as a new campaign's lead file and check the property; returns the campaign's status."""
    path = folder / f"{uuid.uuid4().hex}.csv"
    path.write_bytes(content)
    start = started(path)
    campaign_id = f"csv-{uuid.uuid4().hex[:12]}"
    start = start.model_copy(
        update={"campaign_id": campaign_id, "campaign": start.campaign.model_copy(update={"id": campaign_id})}
    )
    failure: str | None = None
    try:
        await ImportCampaign(runtime.unit_of_work, batch_size=3)(start)
    except PermanentError as error:  # the documented way a whole file fails
        failure = str(error)
    assert failure is None or failure.strip(), "a failed import says why"
    [campaign] = await fetch(database, "SELECT * FROM discovery.campaigns WHERE id = :c", c=campaign_id)
    rows = await fetch(database, "SELECT * FROM discovery.lead_rows WHERE campaign_id = :c", c=campaign_id)
    if campaign["status"] == "failed":
        assert campaign["error"]
        alerts = await fetch(database, "SELECT payload FROM discovery.outbox WHERE subject = 'campaign.alert'")
        assert any(a["payload"]["campaign_id"] == campaign_id for a in alerts)
        return "failed"
    assert campaign["status"] == "imported", campaign
    counted = ("published", "held", "invalid", "duplicates", "excluded")
    assert campaign["rows_read"] == sum(campaign[c] for c in counted) == len(rows), (campaign, len(rows))
    for row in rows:
        if row["outcome"] not in {"published", "held"}:
            assert row["reason_code"], row
            assert row["reason"], row
    return "imported"


@FUZZ
@given(content=LEAD_FILES)
async def test_any_lead_file_is_imported_row_by_row_or_fails_as_a_whole(
    runtime: Runtime, database: AsyncEngine, tmp_path: Path, content: bytes
) -> None:
    # NUL bytes: see the expected failure below.
    await import_file(runtime, database, tmp_path, content.replace(b"\x00", b""))


async def test_a_nul_in_one_cell_does_not_fail_the_import(
    runtime: Runtime, database: AsyncEngine, tmp_path: Path
) -> None:
    assert (
        await import_file(runtime, database, tmp_path, b"email,name\nada@acme.com,A\x00da\nbo@beta.io,Bo\n")
        == "imported"
    )


async def test_a_file_thousands_of_columns_wide_is_imported_with_events_consumers_accept(
    runtime: Runtime, database: AsyncEngine, tmp_path: Path
) -> None:
    header = ",".join(["email", *(f"note{i}" for i in range(3000))])
    rows = [",".join([f"p{n}@acme.com", *("n" * 200 for _ in range(3000))]) for n in range(3)]
    content = "\n".join([header, *rows, "bo@beta.io,short"]) + "\n"
    assert await import_file(runtime, database, tmp_path, content.encode()) == "imported"
    events = await fetch(database, "SELECT subject, payload::text AS body FROM discovery.outbox")
    assert max(len(e["body"].encode()) for e in events) <= MAX_EVENT_BYTES
    scraped = [json.loads(e["body"]) for e in events if e["subject"] == "lead.scraped"]
    assert sorted(s["lead"]["extra"].get(COLUMNS_NOT_KEPT, 0) > 0 for s in scraped) == [False, True, True, True]
    assert all((COLUMNS_NOT_KEPT in s["flags"]) == (COLUMNS_NOT_KEPT in s["lead"]["extra"]) for s in scraped)
    [alert] = [json.loads(e["body"]) for e in events if e["subject"] == "campaign.alert"]
    assert alert["kind"] == COLUMNS_NOT_KEPT
    assert alert["details"]["columns"] == 3000
