"""Batching on both sides of the acknowledgement: group commit for storing, one transaction per batch for applying.

Storing: concurrent deliveries share one INSERT, so each costs a fraction of a commit (a WAL flush). Under light
load a batch is a single webhook and nothing waits; under load, the webhooks that arrive while the running
batches commit form the next one. Each caller gets its answer once *its* batch is durable. If a batch fails as a
whole, its webhooks are retried one by one, so one poison webhook only fails itself.

Applying: what the stored webhooks cause runs in the background, in arrival order, off the senders' path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any, TypeVar

from replies.webhooks import Webhook

T = TypeVar("T")

log = logging.getLogger(__name__)
StoreBatch = Callable[[list[Webhook]], Awaitable[list[bool]]]
# Applies webhooks in one transaction, calling the second argument once it has committed; returns how many.
Apply = Callable[[list[Webhook], Callable[[], None]], Awaitable[int]]
# Up to `limit` stored webhooks still unapplied after `older_than`, oldest first.
LeftBehind = Callable[[int, timedelta], Awaitable[list[Webhook]]]
# The live path applies within milliseconds; a row older than this was left behind (crash, failure).
LEFT_BEHIND = timedelta(seconds=30)
Item = tuple[Webhook, "asyncio.Future[bool]"]
DRAIN_SECONDS = 10.0


class ShuttingDownError(RuntimeError):
    """The service stopped before this webhook was stored (the sender retries a 5xx)."""


class WebhookBatcher:
    """`await batcher(hook)` → True when new, False for a replay; raises when it could not be stored.

    At most `concurrency` batches are being stored at once: while they commit, the next batch gathers.
    """

    def __init__(self, store_batch: StoreBatch, *, max_batch: int = 100, concurrency: int = 2) -> None:
        self._store_batch = store_batch
        self._max_batch = max_batch
        self._slots = asyncio.Semaphore(concurrency)
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self._dispatcher: asyncio.Task[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()

    async def __call__(self, hook: Webhook) -> bool:
        if self._dispatcher is None:  # started lazily, inside the server's event loop
            self._dispatcher = asyncio.create_task(self._dispatch(), name="webhook-batcher")
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((hook, done))
        return await done

    async def close(self) -> None:
        """Stop taking batches, let the running ones finish, refuse what is still queued."""
        await _stop(self._dispatcher)
        self._dispatcher = None
        await asyncio.gather(*self._batches, return_exceptions=True)
        while not self._queue.empty():
            _, done = self._queue.get_nowait()
            if not done.done():
                done.set_exception(ShuttingDownError("the service is stopping"))

    async def _dispatch(self) -> None:
        while True:
            await self._slots.acquire()
            _start(self._batches, self._run(await _next_batch(self._queue, self._max_batch)))

    async def _run(self, batch: list[Item]) -> None:
        try:
            await self._store(batch)
        finally:
            self._slots.release()

    async def _store(self, batch: list[Item]) -> None:
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
            if not done.done():  # the caller may have gone (client disconnect)
                done.set_result(new)


class BackgroundApplier:
    """Applies stored webhooks soon after their 200: in arrival order, up to `max_batch` per transaction.

    A batch waits `linger` seconds after its first webhook for others to join: no sender waits on applying, and
    a transaction's fixed cost (claim, attribution lookup, commit, outbox) is shared by more webhooks. Measured
    at ~90 replies/s among 900 webhooks/s, batches were one or two webhooks and applying cost as much CPU as
    accepting.

    One transaction at a time (so batches commit in order); the next one starts as soon as the previous has
    committed, while its events are still being published. A failure leaves the webhooks unapplied in the inbox,
    where `sweep` (a periodic loop) finds them again: the in-memory queue is only the fast path, so nothing is
    lost with the process.
    """

    def __init__(self, apply: Apply, left_behind: LeftBehind, *, max_batch: int = 100, linger: float = 0.0) -> None:
        self._apply = apply
        self._left_behind = left_behind
        self._max_batch = max_batch
        self._linger = linger
        self._turn = asyncio.Semaphore(1)
        self._queue: asyncio.Queue[Webhook] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()
        self._swept = False

    def soon(self, hooks: list[Webhook]) -> None:
        """Queue stored webhooks for applying (called by the storing side; never blocks it)."""
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="webhook-applier")
        for hook in hooks:
            self._queue.put_nowait(hook)

    async def sweep(self) -> int:
        """Apply what was stored but left unapplied (a crash, a failed apply); returns how many were applied.

        The first sweep of a process takes every unapplied row, however young: the previous process left them.
        Then only rows older than the live path needs. Page after page while pages come full and get applied.
        """
        applied = 0
        while True:
            hooks = await self._left_behind(self._max_batch, LEFT_BEHIND if self._swept else timedelta(0))
            done = await self._apply_isolating(hooks, lambda: None)
            applied += done
            if len(hooks) < self._max_batch or not done:
                self._swept = True
                return applied

    async def close(self) -> None:
        """Apply what is queued (for up to `DRAIN_SECONDS`; the rest waits for the next start's sweep), then stop."""
        if self._worker is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), DRAIN_SECONDS)
        await _stop(self._worker)
        self._worker = None
        for task in list(self._batches):
            task.cancel()
        await asyncio.gather(*self._batches, return_exceptions=True)

    async def _work(self) -> None:
        while True:
            await self._turn.acquire()
            _start(self._batches, self._run(await _next_batch(self._queue, self._max_batch, self._linger)))

    async def _run(self, batch: list[Webhook]) -> None:
        released = False

        def release() -> None:  # at the commit: the next batch need not wait for this one's publishing
            nonlocal released
            if not released:
                released = True
                self._turn.release()

        try:
            await self._apply_isolating(batch, release)
        finally:
            release()
            for _ in batch:
                self._queue.task_done()

    async def _apply_isolating(self, hooks: list[Webhook], committed: Callable[[], None]) -> int:
        if not hooks:
            return 0
        try:
            return await self._apply(hooks, committed)
        except Exception:
            if len(hooks) == 1:
                log.exception("webhook %s %s could not be applied; the sweep retries it", *_name(hooks[0]))
                return 0
            log.warning("applying a batch of %d webhooks failed; applying them one by one", len(hooks), exc_info=True)
            return sum([await self._apply_isolating([hook], lambda: None) for hook in hooks])


def _name(hook: Webhook) -> tuple[str, str]:
    return hook.event_type, hook.dedup_key[:12]


async def _stop(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _next_batch(queue: asyncio.Queue[T], max_batch: int, linger: float = 0.0) -> list[T]:
    """Wait for one item, then take what else waits (after `linger` seconds unless already full), up to `max_batch`."""
    batch = [await queue.get()]
    if linger and queue.qsize() + 1 < max_batch:
        await asyncio.sleep(linger)
    while len(batch) < max_batch and not queue.empty():
        batch.append(queue.get_nowait())
    return batch


def _start(tasks: set[asyncio.Task[None]], work: Coroutine[Any, Any, None]) -> None:
    """Run `work` as a task kept in `tasks` until it ends (so shutdown can wait for it)."""
    task = asyncio.create_task(work)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
