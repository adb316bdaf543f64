"""Recording delivered touches: reserved → sent, the next touch given its due time, `email.sent` emitted.

Deliveries that finish at about the same time are recorded together (group commit): one statement and one
commit for the batch instead of a transaction each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from coldstream_shared.group_commit import Committed, GroupCommit
from coldstream_shared.unit_of_work import UnitOfWork, current_trace_context
from sending import bulk_ledger
from sending.bulk_ledger import SentTouch
from sending.ledger import LedgerRow
from sending.mailer import DeliveryResult
from sending.outgoing import sent_event
from sending.scheduling import due_after


@dataclass(frozen=True)
class Delivered:
    """A touch a backend took, waiting to be recorded."""

    row: LedgerRow
    campaign: Any
    result: DeliveryResult
    # Captured in the touch's own handling: the batch is stored from another message's task.
    trace_context: dict[str, str] = field(default_factory=current_trace_context)


class RecordDeliveries:
    """`await record(row, campaign, result)` returns once the touch is recorded (False: another attempt was first)."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], clock: Callable[[], datetime], *, max_batch: int = 200):
        self._uow = unit_of_work
        self._clock = clock
        self._group: GroupCommit[Delivered, bool] = GroupCommit(self._store, max_batch=max_batch)

    async def __call__(self, row: LedgerRow, campaign: Any, result: DeliveryResult) -> bool:
        return await self._group(Delivered(row, campaign, result))

    async def record_in(self, uow: UnitOfWork, row: LedgerRow, campaign: Any, result: DeliveryResult) -> bool:
        """Inside the caller's transaction."""
        return (await self._record_all(uow, [Delivered(row, campaign, result)]))[0]

    async def _store(self, items: list[Delivered], committed: Committed) -> None:
        async with self._uow() as uow:
            recorded = await self._record_all(uow, items)
            await uow.commit()
            committed(recorded)  # the `email.sent` burst goes out after this (leaving the block), from the outbox

    async def _record_all(self, uow: UnitOfWork, items: list[Delivered]) -> list[bool]:
        sent_at = self._clock()
        moved = await bulk_ledger.record_sent_many(uow.session, [_sent(item, sent_at) for item in items])
        recorded = []
        for item in items:
            # The same touch twice in one batch (a redelivery racing the first attempt) is recorded once.
            fresh = item.row.id in moved
            moved.discard(item.row.id)
            if fresh:
                uow.emit(sent_event(item.row, item.result), trace_context=item.trace_context)
            recorded.append(fresh)
        return recorded


def _sent(item: Delivered, sent_at: datetime) -> SentTouch:
    row, campaign, result = item.row, item.campaign, item.result
    hand_over = result.backend == "instantly"  # Instantly's sequencer sends the follow-ups (their copy went up)
    next_due = None
    if not hand_over:
        delays = campaign.step_delays
        next_delay = delays[row.step] if row.step < len(delays) else None
        if next_delay is not None:
            next_due = due_after(sent_at, next_delay, business_days=campaign.business_days)
    return SentTouch(row.id, sent_at, result.message_id, result.backend, result.account, next_due, hand_over)
