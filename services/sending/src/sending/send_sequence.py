"""Use case: put a lead's generated sequence in the ledger and send its first touch."""

from __future__ import annotations

from collections.abc import Callable

from coldstream_shared.events import EmailGenerated
from coldstream_shared.unit_of_work import UnitOfWork
from sending.dispatch import Dispatcher
from sending.first_touches import ReserveFirstTouches


class SendSequence:
    """Record every touch of a sequence (follow-ups as scheduled) and take the first one out.

    Sequences handled at the same time share their reservation's transaction and their record's (group commit);
    each delivery (the `.eml`, the SMTP or Instantly call) stays its own, between the two.
    """

    def __init__(self, dispatcher: Dispatcher, unit_of_work: Callable[[], UnitOfWork], *, max_batch: int = 100) -> None:
        self._dispatcher = dispatcher
        self._reserve = ReserveFirstTouches(dispatcher, unit_of_work, max_batch=max_batch)

    async def __call__(self, event: EmailGenerated) -> None:
        reservation = await self._reserve(event)
        # Follow-ups (steps 2..n) get their due time when the previous touch is recorded as sent; the
        # follow-up loop (follow_ups.py) takes them out through the same dispatcher. Only a reserved touch has
        # anything to deliver or reconcile (queued ones go up with the Instantly uploader).
        if reservation.row.status == "reserved":
            await self._dispatcher.complete(
                reservation.row.id,
                just_reserved=reservation.just_reserved,
                reserved=(reservation.row, reservation.campaign),
            )
