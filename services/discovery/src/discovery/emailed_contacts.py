"""Use case: remember when each address was last emailed (`email.sent`), many messages per transaction.

Every lead's touch arrives here, so this projection handles as many messages as the pipeline has leads. The
messages handled at the same time are stored together (`GroupCommit`): one claim statement for the batch, one
upsert, one commit, instead of a transaction each. Each message is still acknowledged only after its own item
is committed, and a batch that fails is retried item by item, so one poison event is dead-lettered alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ARRAY, DateTime, Text, bindparam, text

from coldstream_shared.events import EmailSent
from coldstream_shared.group_commit import Committed, GroupCommit
from coldstream_shared.unit_of_work import UnitOfWork
from discovery.normalisation import clean_email

# Fixed text (one prepared statement for any batch size); the latest send stands, whatever the arrival order.
REMEMBER_EMAILED = text(
    "INSERT INTO discovery.contacts (email, last_emailed_at)"
    " SELECT * FROM unnest(CAST(:emails AS text[]), CAST(:emailed_at AS timestamptz[]))"
    " ON CONFLICT (email) DO UPDATE SET"
    " last_emailed_at = greatest(contacts.last_emailed_at, excluded.last_emailed_at), updated_at = now()"
).bindparams(bindparam("emails", type_=ARRAY(Text)), bindparam("emailed_at", type_=ARRAY(DateTime(timezone=True))))


@dataclass(frozen=True)
class Emailed:
    """One `email.sent`, its address already normalised."""

    event: EmailSent
    email: str


class RememberEmailedContacts:
    """`await remember(event)` returns once the event's send is stored (or was stored before)."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], *, max_batch: int = 200) -> None:
        self._uow = unit_of_work
        self._group: GroupCommit[Emailed, None] = GroupCommit(self._store, max_batch=max_batch)

    async def __call__(self, event: EmailSent) -> None:
        email = clean_email(event.email)
        if email:  # nothing to remember about an address that normalises to nothing
            await self._group(Emailed(event, email))

    async def _store(self, items: list[Emailed], committed: Committed) -> None:
        async with self._uow() as uow:
            await remember_all(uow, items)
            await uow.commit()
            committed([None] * len(items))


async def remember_all(uow: UnitOfWork, items: Sequence[Emailed]) -> None:
    """In the caller's transaction: claim every event, then record the sends of those not applied before."""
    latest: dict[str, datetime] = {}
    for item in await uow.claim_fresh(items, lambda item: item.event):
        at = item.event.occurred_at
        latest[item.email] = max(at, latest.get(item.email, at))  # one row may be upserted once per statement
    if latest:
        emails = sorted(latest)  # rows locked in one order, so concurrent batches cannot deadlock
        await uow.session.execute(REMEMBER_EMAILED, {"emails": emails, "emailed_at": [latest[e] for e in emails]})
