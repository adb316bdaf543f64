"""Use case: keep the projection of addresses other services suppressed (unsubscribed, bounced).

Sends (`email.sent`) are remembered in batches by `emailed_contacts`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert

from coldstream_shared.events import Event, LeadBounced, LeadUnsubscribed
from coldstream_shared.unit_of_work import UnitOfWork
from discovery.normalisation import clean_email
from discovery.store import contacts, suppressed_domains


class RecordContact:
    """Apply one contact fact; a suppression is never lifted (promise 1: re-importing never clears it)."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._uow = unit_of_work

    async def __call__(self, event: LeadUnsubscribed | LeadBounced) -> None:
        email = clean_email(event.email)
        if not email:
            return
        async with self._uow() as uow:
            if not await uow.claim(event):
                return
            if isinstance(event, LeadBounced) and event.bounce_type != "hard":
                pass  # a soft bounce says the mailbox exists; nothing to suppress
            elif isinstance(event, LeadUnsubscribed) and event.scope == "domain":
                await self._suppress_domain(uow, email.rsplit("@", 1)[-1], event.occurred_at)
            else:
                await self._suppress(uow, email, _reason(event), event.occurred_at)
            await uow.commit()

    @staticmethod
    async def _suppress(uow: UnitOfWork, email: str, reason: str, at: datetime) -> None:
        statement = insert(contacts).values(email=email, suppressed_reason=reason, suppressed_at=at)
        new = statement.excluded
        await uow.session.execute(
            statement.on_conflict_do_update(
                index_elements=[contacts.c.email],
                # The first reason and time stand; later facts only fill a gap.
                set_={
                    "suppressed_reason": func.coalesce(contacts.c.suppressed_reason, new.suppressed_reason),
                    "suppressed_at": func.coalesce(contacts.c.suppressed_at, new.suppressed_at),
                    "updated_at": func.now(),
                },
            )
        )

    @staticmethod
    async def _suppress_domain(uow: UnitOfWork, domain: str, at: datetime) -> None:
        statement = insert(suppressed_domains).values(domain=domain, reason="unsubscribed", suppressed_at=at)
        await uow.session.execute(statement.on_conflict_do_nothing())


def _reason(event: Event) -> str:
    return "bounced" if isinstance(event, LeadBounced) else "unsubscribed"
