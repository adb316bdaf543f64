"""Liveness for services without an HTTP port: the ready file's mtime is a heartbeat the probes check for freshness.

A file written once at start-up keeps passing `test -f` when the process hangs: the event loop blocked by a
synchronous call, or the broker gone for good. So a task on the service's own event loop touches the file every
`HEARTBEAT_SECONDS`, and only while the service is healthy; the liveness probe (deploy/k8s) fails once the file is
older than `STALE_AFTER_SECONDS`. That the task runs at all proves the loop is not blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
# The probes' window (`find ... -newermt '60 seconds ago'` in deploy/k8s): twelve beats, so a loop that is only busy
# (a burst of messages, a slow garbage collection) is never taken for a hung one.
STALE_AFTER_SECONDS = 60

# Why the service is unhealthy, or None while it is healthy.
Diagnosis = Callable[[], str | None]


async def heartbeat(ready_file: Path, diagnose: Diagnosis, interval: float = HEARTBEAT_SECONDS) -> None:
    """Touch `ready_file` every `interval` while `diagnose()` finds nothing wrong; log each change of health."""
    problem: str | None = None
    while True:
        await asyncio.sleep(interval)
        found = diagnose()
        if found != problem:
            if found:
                log.warning("unhealthy, liveness heartbeat paused: %s", found)
            else:
                log.info("healthy again, liveness heartbeat resumed")
            problem = found
        if found is None:
            # utime, not touch: never recreate the file that shutdown deleted.
            with contextlib.suppress(FileNotFoundError):
                os.utime(ready_file)
