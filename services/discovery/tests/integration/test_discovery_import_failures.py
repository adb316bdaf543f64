"""An import that fails for a reason other than its source ends visibly (real nats-server and Postgres): the
campaign is `failed` with the cause, `campaign.alert import_failed` is published and the start is dead-lettered;
a replay after the fix resumes. A failure of the moment is retried and resumes instead, until its last delivery."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from discovery_testkit import (
    assert_counters_add_up,
    campaign_started,
    counters,
    direct_runtime,
    outbox_events,
    outcome_counts,
    publish,
    read_events,
    unique_campaign_id,
)
from nats.js.client import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from coldstream_shared.campaign import Icp
from coldstream_shared.errors import PermanentError
from coldstream_shared.service import build_runtime, make_app
from coldstream_shared.subjects import dead_letter_subject
from discovery import handlers
from discovery.import_campaign import SERVICE, ImportCampaign
from discovery.preparation import Prepared, RowPreparer
from discovery.settings import DiscoverySettings
from discovery.sources import SourceRow
from discovery.store import metadata

pytestmark = pytest.mark.integration

ROWS = 7  # lead rows in every file below: rows 2-8


def lead_file(folder: Path, campaign_id: str) -> Path:
    path = folder / f"{campaign_id}.csv"  # the file's name tells BrokenPreparer which import to break
    path.write_text("email,name\n" + "".join(f"p{i}@acme{i}.com,P{i}\n" for i in range(ROWS)), encoding="utf-8")
    return path


class BrokenPreparer(RowPreparer):
    """Prepares rows inline but raises `error` for the batches of `file_name` past `from_row`, `times` times
    (None: until `error` is set to None, the fix)."""

    def __init__(self, file_name: str, error: Exception | None, from_row: int = 0, times: int | None = None) -> None:
        super().__init__(0)
        self.file_name, self.error, self.from_row, self.times = file_name, error, from_row, times

    async def batches(
        self, batches: AsyncIterator[list[SourceRow]], names: Mapping[int, str], icp: Icp | None = None
    ) -> AsyncIterator[tuple[list[SourceRow], list[Prepared]]]:
        async for batch, prepared in super().batches(batches, names, icp):
            if self.error is not None and self.file_name in names.values() and batch[-1].row_number > self.from_row:
                error = self.error
                if self.times is not None:
                    self.times -= 1
                    self.error = None if self.times <= 0 else error
                raise error
            yield batch, prepared


async def run_service(
    nats_url: str, database_url: str, data_dir: Path, preparer: RowPreparer
) -> Any:  # the started FastStream app
    settings = DiscoverySettings(nats_url=nats_url, database_url=database_url, data_dir=data_dir, import_batch_size=3)
    runtime = build_runtime(SERVICE, settings, metadata)
    handlers.register(runtime, settings, preparer)
    app = make_app(runtime)
    await app.start()
    return app


async def dead_letter_of(js: JetStreamContext, campaign_id: str) -> dict[str, Any]:
    """The dead letter of this campaign's start (the DLQ stream keeps the original body)."""
    sub = await js.subscribe(dead_letter_subject(SERVICE, "campaign.started"), stream="DLQ", ordered_consumer=True)
    try:
        async with asyncio.timeout(30):
            while True:
                record = json.loads((await sub.next_msg(timeout=30)).data)
                if json.loads(record["original_body"]).get("campaign_id") == campaign_id:
                    return record
    finally:
        await sub.unsubscribe()


async def test_a_bug_fails_the_campaign_visibly_and_a_replay_after_the_fix_resumes(
    database: AsyncEngine, js: JetStreamContext, nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    campaign_id = unique_campaign_id()
    started = campaign_started(campaign_id, lead_file(tmp_path, campaign_id))
    preparer = BrokenPreparer(f"{campaign_id}.csv", KeyError("a bug in normalisation"), from_row=4)
    app = await run_service(nats_url, fresh_database_url, tmp_path, preparer)
    try:
        await publish(js, started)
        [(alert, _)] = await read_events(js, "campaign.alert", campaign_id, lambda found: len(found) == 1)
        assert alert["kind"] == "import_failed"
        assert "KeyError" in alert["message"]
        assert "a bug in normalisation" in alert["message"]
        assert alert["details"] == {"error_type": "KeyError", "cursor_source": 0, "cursor_row": 4}
        c = await counters(database, campaign_id)
        assert c["status"] == "failed"
        assert "KeyError" in c["error"]
        assert c["rows_read"] == 3  # the first batch (rows 2-4) is kept
        record = await dead_letter_of(js, campaign_id)
        assert record["error_type"] == "PermanentError"
        assert record["deliveries"] == 1  # dead-lettered at once, not after eight deliveries

        preparer.error = None  # the fix; then `coldstream dlq replay` publishes the start again
        await publish(js, started, msg_id=f"replay-{uuid.uuid4()}")
        await read_events(js, "campaign.imported", campaign_id, lambda found: len(found) == 1)
    finally:
        await app.stop()
    c = await counters(database, campaign_id)
    assert c["status"] == "imported"
    assert c["error"] is None
    assert_counters_add_up(c)
    assert await outcome_counts(database, campaign_id) == {"published": ROWS}  # each row once


async def test_a_failure_of_the_moment_is_retried_and_the_import_resumes_without_an_alert(
    database: AsyncEngine, js: JetStreamContext, nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    campaign_id = unique_campaign_id()
    started = campaign_started(campaign_id, lead_file(tmp_path, campaign_id))
    preparer = BrokenPreparer(f"{campaign_id}.csv", ConnectionResetError("database restarting"), from_row=4, times=2)
    app = await run_service(nats_url, fresh_database_url, tmp_path, preparer)
    try:
        await publish(js, started)
        [(imported, _)] = await read_events(js, "campaign.imported", campaign_id, lambda found: len(found) == 1)
    finally:
        await app.stop()
    assert imported["rows_read"] == ROWS
    assert preparer.error is None  # it did fail twice on the way
    c = await counters(database, campaign_id)
    assert c["status"] == "imported"
    assert await outcome_counts(database, campaign_id) == {"published": ROWS}
    assert await outbox_events(database, campaign_id, "campaign.alert") == []


async def test_a_database_error_that_is_not_transient_fails_the_campaign_and_a_replay_resumes(
    database: AsyncEngine, nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    campaign_id = unique_campaign_id()
    started = campaign_started(campaign_id, lead_file(tmp_path, campaign_id))
    async with database.begin() as conn:  # as if a migration had not run: the statement is refused every time
        await conn.execute(text("ALTER TABLE discovery.lead_rows RENAME TO lead_rows_gone"))
    async with direct_runtime(nats_url, fresh_database_url, tmp_path) as runtime:
        import_campaign = ImportCampaign(runtime.unit_of_work, batch_size=3)
        with pytest.raises(PermanentError, match="UndefinedTableError"):
            await import_campaign(started)
        c = await counters(database, campaign_id)
        assert c["status"] == "failed"
        assert "lead_rows" in c["error"]
        [alert] = await outbox_events(database, campaign_id, "campaign.alert")
        assert alert["details"]["sqlstate"] == "42P01"  # undefined table

        async with database.begin() as conn:
            await conn.execute(text("ALTER TABLE discovery.lead_rows_gone RENAME TO lead_rows"))
        await import_campaign(started)  # the replay
    c = await counters(database, campaign_id)
    assert c["status"] == "imported"
    assert c["rows_read"] == ROWS


async def test_on_its_last_delivery_a_failure_of_the_moment_fails_the_campaign_and_alerts_once(
    database: AsyncEngine, nats_url: str, fresh_database_url: str, tmp_path: Path
) -> None:
    campaign_id = unique_campaign_id()
    started = campaign_started(campaign_id, lead_file(tmp_path, campaign_id))
    preparer = BrokenPreparer(f"{campaign_id}.csv", TimeoutError("provider unreachable"))
    async with direct_runtime(nats_url, fresh_database_url, tmp_path) as runtime:
        import_campaign = ImportCampaign(runtime.unit_of_work, batch_size=3, preparer=preparer)
        with pytest.raises(TimeoutError):  # retried: the campaign is still importing
            await import_campaign(started)
        assert (await counters(database, campaign_id))["status"] == "importing"
        for _ in range(2):  # the last delivery, and a redelivery of it (the dead letter could not be stored)
            with pytest.raises(PermanentError, match="still failing on its last delivery"):
                await import_campaign(started, last_delivery=True)
    c = await counters(database, campaign_id)
    assert c["status"] == "failed"
    assert "TimeoutError" in c["error"]
    [alert] = await outbox_events(database, campaign_id, "campaign.alert")  # the same failure alerts once
    assert alert["details"] == {"error_type": "TimeoutError", "cursor_source": 0, "cursor_row": 0}
