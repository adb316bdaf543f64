"""Group commit for webhooks: concurrent deliveries share one transaction, so each costs a fraction of a commit.

Under light load a batch is a single webhook and nothing waits; under load, the webhooks that arrive while one
batch commits form the next. Each caller still gets its answer only after *its* webhook is committed. If a
batch fails as a whole, its webhooks are retried one by one, so one poison webhook only fails itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from coldstream_shared.outbox import Outbox
from replies.webhooks import Webhook

log = logging.getLogger(__name__)
StoreBatch = Callable[[list[Webhook]], Awaitable[list[bool]]]


class WebhookBatcher:
    """`await batcher(hook)` → True when new, False for a replay; raises when it could not be stored."""

    def __init__(self, store_batch: StoreBatch, *, max_batch: int = 100, workers: int = 4) -> None:
        self._store_batch = store_batch
        self._max_batch = max_batch
        self._workers = workers
        self._queue: asyncio.Queue[tuple[Webhook, asyncio.Future[bool]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def __call__(self, hook: Webhook) -> bool:
        if not self._tasks:  # started lazily, inside the server's event loop
            self._tasks = [asyncio.create_task(self._work(), name=f"webhook-batcher-{n}") for n in range(self._workers)]
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((hook, done))
        return await done

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._store(batch)

    async def _store(self, batch: list[tuple[Webhook, asyncio.Future[bool]]]) -> None:
        try:
            results = await self._store_batch([hook for hook, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                if not batch[0][1].done():
                    batch[0][1].set_exception(error)
                return
            log.warning("a batch of %d webhooks failed; storing them one by one", len(batch), exc_info=True)
            for item in batch:
                await self._store([item])
            return
        for (_, done), new in zip(batch, results, strict=True):
            if not done.done():
                done.set_result(new)


class RelayOnlyOutbox(Outbox):
    """An outbox whose flush after each commit does nothing: the service's relay loop publishes instead.

    Used for webhook batches so a webhook's 200 waits for its commit only, not for NATS; the events follow
    within the relay's interval (1 s).
    """

    async def flush(self, limit: int = 500) -> int:
        return 0
