"""Running a use case periodically as a background loop of the service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


def every(seconds: float, run_once: Callable[[], Awaitable[Any]], what: str) -> Callable[[], Coroutine[Any, Any, None]]:
    """A loop for `Runtime.loops`: `run_once` now, then every `seconds`; a failure is logged, never fatal."""

    async def loop() -> None:
        while True:
            try:
                await run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed; next try in %.0fs", what, seconds)
            await asyncio.sleep(seconds)

    loop.__qualname__ = what.replace(" ", "_")
    return loop
