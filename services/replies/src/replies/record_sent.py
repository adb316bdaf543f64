"""Use case: remember every sent email, so replies and footer links can be attributed."""

from __future__ import annotations

from collections.abc import Callable

from coldstream_shared.events import EmailSent
from coldstream_shared.sql import insert_or_skip
from coldstream_shared.unit_of_work import UnitOfWork
from replies.pipeline import move_stage
from replies.stages import touch_stage
from replies.store import sent_emails

SENT_COLUMNS = ("event_id", "email", "lead_id", "campaign_id", "step", "unsubscribe_token", "sent_at")
INSERT_SENT = insert_or_skip(sent_emails, SENT_COLUMNS, returning="event_id")


class RecordSentEmail:
    """Project `email.sent` into `sent_emails`, and move the lead to the touch's pipeline stage."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._uow = unit_of_work

    async def __call__(self, event: EmailSent) -> None:
        async with self._uow() as uow:
            if not await uow.claim(event):
                return
            row = {
                "event_id": event.event_id,
                "email": event.email.strip().lower(),
                "lead_id": event.lead_id,
                "campaign_id": event.campaign_id,
                "step": event.step,
                "unsubscribe_token": event.unsubscribe_token,
                "sent_at": event.occurred_at,
            }
            await uow.session.execute(INSERT_SENT, row)
            stage = touch_stage(event.step)
            await move_stage(uow.session, event.lead_id, event.campaign_id, stage, f"email.sent step {event.step}")
            await uow.commit()
