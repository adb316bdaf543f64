"""Use case: mirror the suppression list to Instantly's workspace block list (promise 5).

Our table stays authoritative; the mirror is a second guard at Instantly (its leads/add checks the block list).
Entries are marked `mirrored_at` after Instantly accepted them, so a crash only repeats a harmless bulk-create.

A refusal (4xx; 401/403 is a wrong or revoked key) would be answered the same way every 10 s: it is logged at
ERROR once per outage, counted (`refusals`), and retried with a growing delay. No row is given up: the entries
waiting are mirrored as soon as Instantly accepts them again. No `campaign.alert` fits (the block list belongs to
the workspace, not to a campaign); a campaign using that key is held by its own refused calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import func, select, update

from coldstream_shared.unit_of_work import UnitOfWork
from sending.instantly.client import InstantlyClient, InstantlyRejectedError
from sending.store import suppressions

log = logging.getLogger(__name__)
CHUNK = 100
MAX_INTERVAL = 600.0  # seconds between attempts while Instantly refuses: a fixed key is picked up within 10 min


class MirrorBlocklist:
    """Send entries Instantly has not seen yet to its block list."""

    def __init__(self, client: InstantlyClient, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._client = client
        self._uow = unit_of_work
        self.refused: InstantlyRejectedError | None = None  # the refusal of the outage going on, if any
        self.refusals = 0  # refused attempts since the service started (a counter for status and tests)

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

    async def run_forever(self, interval: float = 10.0, max_interval: float = MAX_INTERVAL) -> None:
        """The background loop the service starts when an Instantly key is configured."""
        delay = interval
        while True:
            try:
                count = await self()
            except asyncio.CancelledError:
                raise
            except InstantlyRejectedError as error:
                await self._refused(error)
                delay = min(delay * 2, max_interval)
            except Exception:
                log.exception("block list mirroring failed; retrying in %.0fs", interval)
                delay = interval
            else:
                if self.refused is not None:
                    log.warning("Instantly accepts block-list entries again (after %s)", self.refused)
                    self.refused = None
                if count:
                    log.info("%d suppression entries mirrored to Instantly's block list", count)
                delay = interval
            await asyncio.sleep(delay)

    async def _refused(self, error: InstantlyRejectedError) -> None:
        self.refusals += 1
        if self.refused is not None:  # said once already for this outage
            log.debug("block list mirroring still refused: %s", error)
            return
        self.refused = error
        async with self._uow() as uow:
            waiting = await uow.session.scalar(
                select(func.count()).select_from(suppressions).where(suppressions.c.mirrored_at.is_(None))
            )
        cause = (
            "fix the key at Instantly (revoked, or missing the block-list scope) or set INSTANTLY_API_KEY and "
            "restart sending"
            if error.status in (401, 403)
            else "an entry Instantly does not accept stalls the mirror; check the suppression list"
        )
        log.error(
            "Instantly refuses block-list entries: %s. %d suppressed entries are not mirrored to its block list "
            "(our own suppression check still guards every send); %s. Retrying with backoff; none is lost",
            error,
            waiting,
            cause,
        )
