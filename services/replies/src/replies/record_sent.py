"""Use case: remember every sent email, so replies and footer links can be attributed.

Every lead's touch arrives here, so the messages handled at the same time are stored together (`GroupCommit`):
one claim statement for the batch, one insert of the sent emails, a few statements for the stage moves, one
commit, instead of a transaction each. Each message is still acknowledged only after its own item is committed,
and a batch that fails is retried item by item, so one poison event is dead-lettered alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from coldstream_shared.events import EmailSent
from coldstream_shared.group_commit import Committed, GroupCommit
from coldstream_shared.sql import insert_many_or_skip
from coldstream_shared.unit_of_work import UnitOfWork
from replies.pipeline import StageMove, move_stages
from replies.stages import touch_stage
from replies.store import sent_emails

SENT_COLUMNS = ("event_id", "email", "lead_id", "campaign_id", "step", "unsubscribe_token", "sent_at")
INSERT_SENT = insert_many_or_skip(sent_emails, SENT_COLUMNS, returning="event_id")


class RecordSentEmail:
    """Project `email.sent` into `sent_emails`, and move the lead to the touch's pipeline stage."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], *, max_batch: int = 200) -> None:
        self._uow = unit_of_work
        self._group: GroupCommit[EmailSent, None] = GroupCommit(self._store, max_batch=max_batch)

    async def __call__(self, event: EmailSent) -> None:
        await self._group(event)

    async def _store(self, events: list[EmailSent], committed: Committed) -> None:
        async with self._uow() as uow:
            await record_all(uow, events)
            await uow.commit()
            committed([None] * len(events))


async def record_all(uow: UnitOfWork, events: Sequence[EmailSent]) -> None:
    """In the caller's transaction: claim every event; store the new ones and move their leads' stages."""
    fresh = await uow.claim_fresh(events, lambda event: event)
    if not fresh:
        return
    rows = [_row(event) for event in fresh]
    await uow.session.execute(INSERT_SENT, {column: [row[column] for row in rows] for column in SENT_COLUMNS})
    moves = [
        StageMove(e.lead_id, e.campaign_id, touch_stage(e.step), f"email.sent step {e.step}")
        for e in fresh  # in arrival order: a lead's later touch in the same batch is folded after its earlier one
    ]
    await move_stages(uow.session, moves)


def _row(event: EmailSent) -> dict[str, object]:
    return {
        "event_id": event.event_id,
        "email": event.email.strip().lower(),
        "lead_id": event.lead_id,
        "campaign_id": event.campaign_id,
        "step": event.step,
        "unsubscribe_token": event.unsubscribe_token,
        "sent_at": event.occurred_at,
    }
