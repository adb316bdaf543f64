"""Rows prepared by the worker process are the rows prepared inline, in order; a dead worker loses no row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import psutil
import pytest

from coldstream_shared.campaign import Icp
from coldstream_shared.events import LeadData
from discovery.outcomes import CampaignView, decide
from discovery.preparation import Prepared, RowPreparer, prepare_rows
from discovery.scoring import score_lead
from discovery.sources import SourceError, SourceRow

NAMES = {0: "leads.csv"}
ROWS = [
    SourceRow(0, 2, {"email": "Jane@Acme.com", "full_name": "Jane Doe", "phone": "+49 30 1234567"}),
    SourceRow(0, 3, {"email": "not-an-email"}),
    SourceRow(0, 4, problem="row 4 spans 30 lines"),
    SourceRow(0, 5, {"email": "bo@brightline.org", "country": "Deutschland", "website": "www.brightline.org"}),
    SourceRow(0, 6, {"email": "test@example.com"}),
]


async def in_batches(rows: list[SourceRow], size: int) -> AsyncIterator[list[SourceRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def prepared_by(preparer: RowPreparer) -> list[tuple[list[SourceRow], list[Prepared]]]:
    return [pair async for pair in preparer.batches(in_batches(ROWS, 2), NAMES)]


async def test_a_worker_prepares_every_batch_as_inline_preparation_does_in_order() -> None:
    preparer = RowPreparer(workers=1)
    try:
        await preparer.ready()
        by_worker = await prepared_by(preparer)
    finally:
        preparer.close()
    inline = await prepared_by(RowPreparer(workers=0))
    assert by_worker == inline
    assert [batch for batch, _ in by_worker] == [ROWS[0:2], ROWS[2:4], ROWS[4:]]
    assert [p for _, prepared in by_worker for p in prepared] == prepare_rows(ROWS, NAMES)


async def test_a_killed_worker_loses_no_row_the_rest_is_prepared_inline(caplog: pytest.LogCaptureFixture) -> None:
    preparer = RowPreparer(workers=1)
    try:
        await preparer.ready()
        workers = [p for p in psutil.Process().children() if "multiprocessing" in " ".join(p.cmdline())]
        for worker in workers:
            if "resource_tracker" not in " ".join(worker.cmdline()):
                os.kill(worker.pid, signal.SIGKILL)
        prepared = await prepared_by(preparer)
    finally:
        preparer.close()
    assert [p for _, batch in prepared for p in batch] == prepare_rows(ROWS, NAMES)
    assert "prepared in the service's process from now on" in caplog.text


def test_the_worker_exits_when_the_service_is_killed() -> None:
    service = subprocess.Popen(
        [sys.executable, "-c", SERVICE_WITH_A_WORKER], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert service.stdout is not None
        assert service.stdout.readline().strip() == "ready"
        workers = psutil.Process(service.pid).children()
        assert workers
        service.kill()
        service.wait()
        _, alive = psutil.wait_procs(workers, timeout=30)
        assert alive == []
    finally:
        service.kill()


SERVICE_WITH_A_WORKER = """
import asyncio, time
from discovery.preparation import RowPreparer
preparer = RowPreparer(workers=1)
asyncio.run(preparer.ready())
print("ready", flush=True)
time.sleep(120)
"""


async def test_a_source_failing_mid_way_fails_after_handing_over_what_was_read_before() -> None:
    async def breaking() -> AsyncIterator[list[SourceRow]]:
        yield ROWS[0:2]
        yield ROWS[2:4]
        raise SourceError("leads.csv: unreadable CSV near line 9")

    handed: list[list[SourceRow]] = []

    async def hand_over() -> None:
        async for batch, _ in RowPreparer(workers=0).batches(breaking(), NAMES):
            handed.append(batch)

    with pytest.raises(SourceError, match="line 9"):
        await hand_over()
    assert handed == [ROWS[0:2], ROWS[2:4]]


def test_with_an_icp_each_lead_comes_scored_as_decide_would_score_it() -> None:
    icp = Icp(titles=["Head of Growth"], locations=["Germany"], industries=["SaaS"])
    prepared = prepare_rows(ROWS, NAMES, icp)
    view = CampaignView("c1", icp)
    for row, (lead, score) in zip(ROWS, prepared, strict=True):
        if isinstance(lead, LeadData):
            assert score == score_lead(lead, icp)
        else:
            assert score is None
        inline = decide(row, lead, "here", CampaignView("c1", icp))
        assert decide(row, lead, "here", view, score) == inline
