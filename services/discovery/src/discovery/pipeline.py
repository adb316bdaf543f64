"""Overlap one import batch's publishing with the next batch's work.

A batch is durable once its transaction commits; publishing its events (JetStream acknowledges each one) comes
after that and needs nothing from the next batch, which needs only the commit (the cursor and the leads it added).
So the next batch starts at the commit while the previous one is still publishing. At most one batch publishes in
the background, so memory stays bounded by two batches. A crash loses nothing: committed events wait in the outbox
for the relay, as they always did.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

Batch = Callable[[asyncio.Event], Awaitable[None]]


class BatchPipeline:
    """`async with BatchPipeline() as p: await p.run(batch)` runs batches one at a time up to their commit; leaving
    the block waits for the last one's publishing (so whatever follows is published after every batch)."""

    def __init__(self) -> None:
        self._publishing: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        return self

    async def run(self, batch: Batch) -> None:
        """Run a batch until its commit (raising what it raised before that), then let it publish on its own."""
        committed = asyncio.Event()
        task = asyncio.ensure_future(batch(committed))
        waiter = asyncio.ensure_future(committed.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            task.cancel()  # cancelled while waiting (a shutdown): the transaction rolls back
            raise
        finally:
            waiter.cancel()
        if task.done():
            task.result()  # done without committing means it failed: raise that here
        await self.drain()
        self._publishing = task

    async def drain(self) -> None:
        """Wait for the batch publishing in the background, if any."""
        publishing, self._publishing = self._publishing, None
        if publishing is not None:
            await publishing

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            await self.drain()
            return
        # Failing anyway: the background batch is committed, only its publishing is left, and the outbox relay
        # repeats that if it does not finish. Wait for it rather than leave a task behind, but report `exc`.
        with contextlib.suppress(Exception):
            await self.drain()
