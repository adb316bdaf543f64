"""Use case: mirror the suppression list to Instantly's workspace block list (promise 5).

Our table stays authoritative; the mirror is a second guard at Instantly (its leads/add checks the block list).
Entries are marked `mirrored_at` after Instantly accepted them, so a crash only repeats a harmless bulk-create.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import func, select, update

from coldstream_shared.unit_of_work import UnitOfWork
from sending.instantly.client import InstantlyClient
from sending.store import suppressions

log = logging.getLogger(__name__)
CHUNK = 100


class MirrorBlocklist:
    """Send entries Instantly has not seen yet to its block list."""

    def __init__(self, client: InstantlyClient, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._client = client
        self._uow = unit_of_work

    async def __call__(self) -> int:
        """Mirror everything pending; returns how many entries went to Instantly."""
        mirrored = 0
        while True:
            async with self._uow() as uow:
                values = list(
                    (
                        await uow.session.execute(
                            select(suppressions.c.value)
                            .where(suppressions.c.mirrored_at.is_(None))
                            .order_by(suppressions.c.created_at, suppressions.c.value)
                            .limit(CHUNK)
                        )
                    ).scalars()
                )
            if not values:
                return mirrored
            await self._client.block(values)
            async with self._uow() as uow:
                await uow.session.execute(
                    update(suppressions).where(suppressions.c.value.in_(values)).values(mirrored_at=func.now())
                )
                await uow.commit()
            mirrored += len(values)

    async def run_forever(self, interval: float = 10.0) -> None:
        """The background loop the service starts when an Instantly key is configured."""
        while True:
            try:
                count = await self()
                if count:
                    log.info("%d suppression entries mirrored to Instantly's block list", count)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("block list mirroring failed; retrying in %.0fs", interval)
            await asyncio.sleep(interval)
