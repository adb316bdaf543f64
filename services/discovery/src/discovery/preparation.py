"""Normalise, validate and score an import's rows (the pure `prepare` and `score_lead`) one batch ahead, in a
worker process.

Normalisation is the import's heaviest work of its own (phone numbers, domains, addresses: ~0.1 ms a row) and
needs nothing but the row, nor does the ICP score (the lead and the ICP), while the rest of a batch (lookups,
decisions, writes, publishing) keeps the service's event loop busy. A worker process prepares batch n+1 on the
other core while the service records batch n. It holds no state: if it dies, its batch and every later one are
prepared inline, so the outcome never depends on it.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import wait
from typing import NamedTuple

from coldstream_shared.campaign import Icp
from coldstream_shared.events import LeadData
from coldstream_shared.heap import settle_heap
from discovery.normalisation import Rejection
from discovery.outcomes import prepare
from discovery.scoring import Score, score_lead
from discovery.sources import SourceRow

log = logging.getLogger(__name__)


class Prepared(NamedTuple):
    """A row as a lead or a rejection, and the lead's ICP score (decide() uses it if the lead gets that far)."""

    lead: LeadData | Rejection
    score: Score | None = None


def where_of(row: SourceRow, names: Mapping[int, str]) -> str:
    """How row-level reasons name a row: 'row 12 of leads.csv'."""
    return f"row {row.row_number} of {names[row.source_index]}"


def prepare_rows(rows: list[SourceRow], names: Mapping[int, str], icp: Icp | None = None) -> list[Prepared]:
    """Every row of a batch as a lead or a rejection, each lead scored against `icp` if given (runs in the worker)."""
    prepared = []
    for row in rows:
        lead = prepare(row, where_of(row, names))
        score = score_lead(lead, icp) if icp is not None and isinstance(lead, LeadData) else None
        prepared.append(Prepared(lead, score))
    return prepared


def _ready() -> None:
    """Submitted first, so the worker imports the rules before the first batch needs them; then its heap is settled
    as the service's is (coldstream_shared.heap)."""
    settle_heap()


def _exit_with_parent() -> None:
    """Worker initializer. A worker waits on a queue it also holds open, so without this it outlives a service that
    was killed (SIGKILL, out of memory)."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_when_gone, args=(parent.sentinel,), daemon=True).start()


def _exit_when_gone(sentinel: int) -> None:
    wait([sentinel])  # readable once the parent process is gone
    os._exit(0)


class RowPreparer:
    """Prepares batches in `workers` worker processes (0: inline, in the caller's process)."""

    def __init__(self, workers: int = 0) -> None:
        self._workers = workers
        self._pool: Executor | None = None
        self._warm: Future[None] | None = None
        if workers:
            self._start()

    def _start(self) -> None:
        # spawn, not fork: the service has threads (tracing export, the database driver) a fork would copy mid-step.
        context = multiprocessing.get_context("spawn")
        self._pool = ProcessPoolExecutor(self._workers, mp_context=context, initializer=_exit_with_parent)
        self._warm = self._pool.submit(_ready)

    async def ready(self) -> None:
        """Wait until the worker has started and imported the rules (a benchmark times imports, not start-up)."""
        if self._warm is not None:
            try:
                await asyncio.wrap_future(self._warm)
            except BrokenProcessPool:
                self._give_up()

    async def batches(
        self, batches: AsyncIterator[list[SourceRow]], names: Mapping[int, str], icp: Icp | None = None
    ) -> AsyncIterator[tuple[list[SourceRow], list[Prepared]]]:
        """Each batch with its prepared rows, in order; the next batch is being prepared while the caller works.

        A source that fails while the next batch is read (a broken line, a provider down) fails after the batch
        read before it is handed over, as it would without reading ahead."""
        ahead: tuple[list[SourceRow], asyncio.Future[list[Prepared]] | None] | None = None
        rows = aiter(batches)
        while True:
            try:
                batch = await anext(rows)
            except StopAsyncIteration:
                break
            except Exception:
                if ahead is not None:
                    yield ahead[0], await self._collect(*ahead, names, icp)
                raise
            future = self._submit(batch, names, icp)
            if ahead is not None:
                yield ahead[0], await self._collect(*ahead, names, icp)
            ahead = (batch, future)
        if ahead is not None:
            yield ahead[0], await self._collect(*ahead, names, icp)

    def _submit(
        self, rows: list[SourceRow], names: Mapping[int, str], icp: Icp | None
    ) -> asyncio.Future[list[Prepared]] | None:
        """The worker's answer to come, or None without a worker (the rows are then prepared when collected)."""
        if self._pool is None or (self._warm is not None and not self._warm.done()):
            return None  # no worker, or one still starting: an import never waits for a worker's start-up
        try:
            return asyncio.wrap_future(self._pool.submit(prepare_rows, rows, dict(names), icp))
        except (BrokenProcessPool, RuntimeError):  # RuntimeError: the pool was shut down
            self._give_up()
            return None

    async def _collect(
        self,
        rows: list[SourceRow],
        future: asyncio.Future[list[Prepared]] | None,
        names: Mapping[int, str],
        icp: Icp | None,
    ) -> list[Prepared]:
        if future is not None:
            try:
                return await future
            except BrokenProcessPool:
                self._give_up()
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not future.cancelled() or (task is not None and task.cancelling()):
                    raise
                # The pool was closed under this batch (the service is stopping), the caller was not cancelled.
        return prepare_rows(rows, names, icp)

    def _give_up(self) -> None:
        """The worker died (killed, out of memory, or could not start): prepare inline from now on. Not restarted:
        a worker that cannot start (e.g. a main script without a `__main__` guard) would fail again per batch."""
        if self._pool is not None:
            log.warning("the row-preparation worker died; rows are prepared in the service's process from now on")
        self.close()

    def close(self) -> None:
        """Stop the worker (the service is shutting down); later batches are prepared inline."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
