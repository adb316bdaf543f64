"""Group commit: what concurrently handled messages produce is stored in one transaction instead of one each.

Every round trip to Postgres costs more than the work it carries (on a small VM each socket write is a noticeable
syscall), and one message alone needs several: begin, claim, its rows, the outbox, commit. Handlers run many
messages at once (`max_workers`); each hands its item here and waits. The first caller to get a slot stores
everything that has gathered (its own item and others'), while the next batch gathers. Under light load a batch
is a single item and nothing waits. Each caller returns only once *its* item is committed, so its message is
acknowledged after the commit, as before. A batch that fails as a whole is retried one item at a time, so one bad
item fails (and redelivers) only its own message.

Used by enrichment (verified leads) and sending (first touches, delivery records).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger(__name__)


class BatchAbandonedError(RuntimeError):
    """The caller that was storing this batch was cancelled (shutdown): the message is redelivered later."""


Committed = Callable[[Sequence[Any]], None]


class GroupCommit(Generic[T, R]):
    """`await group(item)` returns `item`'s result once `store_batch` has committed a batch holding it.

    `store_batch(items, committed)` stores the items in one transaction and calls `committed(results)` right after
    the commit (one result per item, in order; an exception fails that item alone). The callers return and the
    slot goes to the next batch at that moment: publishing the batch's events after the commit (an outbox, whose
    relay covers a crash) does not hold either up.
    """

    def __init__(
        self,
        store_batch: Callable[[list[T], Committed], Awaitable[None]],
        *,
        max_batch: int = 100,
        concurrency: int = 2,
    ) -> None:
        self._store_batch = store_batch
        self._max_batch = max_batch
        self._slots = asyncio.Semaphore(concurrency)
        self._waiting: list[tuple[T, asyncio.Future[Any]]] = []

    async def __call__(self, item: T) -> R:
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        entry = (item, done)
        self._waiting.append(entry)
        # No dispatcher task to start or stop: whoever gets a slot stores what is waiting (its own item and
        # others'); a caller whose item someone else took only waits for that batch.
        while any(waiting is entry for waiting in self._waiting):
            await self._slots.acquire()
            slot = _Slot(self._slots)
            try:
                if any(waiting is entry for waiting in self._waiting):
                    batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
                    await self._store(batch, slot)
            finally:
                slot.release()
        return await done

    async def _store(self, batch: list[tuple[T, asyncio.Future[Any]]], slot: _Slot) -> None:
        try:
            await self._store_or_split(batch, slot)
        except BaseException:  # cancelled while storing: nobody else will settle these
            for _, done in batch:
                _settle(done, BatchAbandonedError("the batch was abandoned (the service is stopping)"))
            raise

    async def _store_or_split(self, batch: list[tuple[T, asyncio.Future[Any]]], slot: _Slot | None) -> None:
        settled = False

        def committed(results: Sequence[Any]) -> None:
            nonlocal settled
            settled = True
            for (_, done), result in zip(batch, results, strict=True):
                _settle(done, result)
            if slot is not None:
                slot.release()

        try:
            await self._store_batch([item for item, _ in batch], committed)
        except Exception as error:
            if settled:  # failed after the commit: the items are stored, their callers already told so
                log.warning("a batch of %d items failed after its commit", len(batch), exc_info=True)
            elif len(batch) == 1:
                _settle(batch[0][1], error)
            else:
                log.warning("storing a batch of %d items failed; storing them one by one", len(batch), exc_info=True)
                for entry in batch:
                    await self._store_or_split([entry], None)
            return
        if not settled:
            for _, done in batch:
                _settle(done, RuntimeError("the batch was stored without calling committed()"))


class _Slot:
    """A slot of the semaphore, released once (at the commit, or when its holder is done)."""

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self._slots = slots
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots.release()


def _settle(done: asyncio.Future[Any], result: Any) -> None:
    if done.done():
        return
    if isinstance(result, BaseException):
        done.set_exception(result)
    else:
        done.set_result(result)
