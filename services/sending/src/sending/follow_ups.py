"""Use case: send follow-ups when they are due, and reconcile reservations a crash left behind."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from coldstream_shared.errors import TransientError
from coldstream_shared.events import utcnow
from coldstream_shared.unit_of_work import UnitOfWork
from sending import ledger
from sending.dispatch import DEFAULT_LEASE, Dispatcher

log = logging.getLogger(__name__)


class SendDueTouches:
    """One sweep: every due touch goes through the dispatcher; stale reservations are reconciled."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        unit_of_work: Callable[[], UnitOfWork],
        *,
        clock: Callable[[], datetime] = utcnow,
        batch: int = 100,
    ) -> None:
        self._dispatcher = dispatcher
        self._uow = unit_of_work
        self._clock = clock
        self._batch = batch

    async def __call__(self) -> int:
        """Send what is due now; returns how many touches were looked at."""
        now = self._clock()
        async with self._uow() as uow:
            candidates = await ledger.touches_to_send(uow.session, now, now - DEFAULT_LEASE, self._batch)
        for ledger_id, status in candidates:
            try:
                if status == "reserved":
                    await self._dispatcher.complete(ledger_id, just_reserved=False)
                else:
                    await self._send_due(ledger_id)
            except TransientError as error:
                log.info("touch %s not sent this round: %s", ledger_id, error)
        return len(candidates)

    async def _send_due(self, ledger_id: object) -> None:
        async with self._uow() as uow:
            row = await ledger.load_touch(uow.session, ledger_id)  # type: ignore[arg-type]
            if row is None:
                return
            await ledger.lock_address(uow.session, row.email)
            # Re-read under the lock: a suppression may have cancelled it, another replica may have taken it.
            row = await ledger.load_touch(uow.session, row.id, for_update=True)
            if row is None or row.status != "scheduled" or row.due_at is None or row.due_at > self._clock():
                return
            row = await self._dispatcher.reserve(uow, row)
            await uow.commit()
        await self._dispatcher.complete(row.id, just_reserved=row.status == "reserved")

    async def run_forever(self, interval: float = 30.0) -> None:
        """The background loop the service starts (runtime.loops)."""
        while True:
            try:
                await self()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("follow-up sweep failed; retrying in %.0fs", interval)
            await asyncio.sleep(interval)
