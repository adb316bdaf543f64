"""Progress heartbeats while a message is being worked on, so JetStream does not redeliver it mid-call."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)


async def _beat(heartbeat: Callable[[], Awaitable[object]], every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await heartbeat()
        except Exception:  # a lost heartbeat only risks a redelivery, which the inbox makes harmless
            log.debug("in-progress heartbeat failed", exc_info=True)


@contextlib.asynccontextmanager
async def heartbeats(heartbeat: Callable[[], Awaitable[object]], every: float) -> AsyncIterator[None]:
    """Call `heartbeat` every `every` seconds until the block ends (e.g. NatsMessage.in_progress)."""
    task = asyncio.create_task(_beat(heartbeat, every))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
