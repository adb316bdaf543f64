"""Group commit: what concurrent leads produced is stored in one transaction instead of one each.

Every round trip to Postgres costs more than the work it carries (on a small VM each socket write is a
noticeable syscall), and one lead alone needs six: begin, claim, verification, cost log, outbox, commit. The
handler runs many leads at once, so their outcomes are handed here and wait: the first caller to get a slot
stores everything that has gathered, and while its batch commits the next one gathers. Under light load a batch
is a single lead and nothing waits. Each caller returns only once *its* outcome is durable, so its message is
acknowledged after the commit, as before. A batch that fails as a whole is retried one outcome at a time, so one
bad outcome fails (and redelivers) only its own message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class BatchAbandonedError(RuntimeError):
    """The caller that was storing this batch was cancelled (shutdown): the message is redelivered later."""


class GroupCommit(Generic[T]):
    """`await group(item)` returns once `store_batch` has stored a batch holding `item` (raises if it could not)."""

    def __init__(
        self, store_batch: Callable[[list[T]], Awaitable[None]], *, max_batch: int = 100, concurrency: int = 2
    ) -> None:
        self._store_batch = store_batch
        self._max_batch = max_batch
        self._slots = asyncio.Semaphore(concurrency)
        self._waiting: list[tuple[T, asyncio.Future[None]]] = []

    async def __call__(self, item: T) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (item, done)
        self._waiting.append(entry)
        # No dispatcher task to start or stop: whoever gets a slot stores what is waiting (its own item and
        # others'); a caller whose item someone else took only waits for that batch.
        while any(waiting is entry for waiting in self._waiting):
            async with self._slots:
                if any(waiting is entry for waiting in self._waiting):
                    batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
                    await self._store(batch)
        await done

    async def _store(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        try:
            await self._store_or_split(batch)
        except BaseException:  # cancelled while storing: nobody else will settle these
            for _, done in batch:
                _settle(done, BatchAbandonedError("the batch was abandoned (the service is stopping)"))
            raise

    async def _store_or_split(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        try:
            await self._store_batch([item for item, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0][1], error)
                return
            log.warning("storing a batch of %d outcomes failed; storing them one by one", len(batch), exc_info=True)
            for entry in batch:
                await self._store_or_split([entry])
            return
        for _, done in batch:
            _settle(done, None)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
