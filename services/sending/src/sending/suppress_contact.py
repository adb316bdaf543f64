"""Use case: put an address or a domain on the suppression list for good, and cancel what was still to come."""

from __future__ import annotations

import logging
from collections.abc import Callable

from coldstream_shared.events import LeadBounced, LeadUnsubscribed
from coldstream_shared.telemetry import hash_email
from coldstream_shared.unit_of_work import UnitOfWork
from sending import ledger
from sending.cancellations import announce_cancelled
from sending.suppression import Scope, normalise_value

log = logging.getLogger(__name__)


def _why(event: LeadUnsubscribed | LeadBounced, reason: str) -> str:
    """What `email.cancelled` says: a spam complaint (replies sends it as an unsubscribe) stays one downstream."""
    if reason == ledger.COMPLAINT:
        return ledger.COMPLAINT
    return "unsubscribed" if isinstance(event, LeadUnsubscribed) else "bounced"


class SuppressContact:
    """Suppress on an unsubscribe (a spam complaint arrives as one, reason `complaint`) or a hard bounce (promise 1);
    a soft bounce changes nothing."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._uow = unit_of_work

    async def __call__(self, event: LeadUnsubscribed | LeadBounced) -> None:
        scope: Scope
        if isinstance(event, LeadUnsubscribed):
            scope, reason, source = event.scope, event.reason or "unsubscribed", f"unsubscribe:{event.source}"
        else:
            scope, reason, source = "email", f"hard bounce: {event.reason or 'no reason given'}", "bounce"
        value = normalise_value(event.email, scope)
        async with self._uow() as uow:
            if not await uow.claim(event):
                return
            if isinstance(event, LeadBounced) and event.bounce_type != "hard":
                await uow.commit()
                return
            # The lock a send's reservation takes too: a send in flight either reserved before this commit,
            # or it reads this entry and never happens.
            await ledger.lock(uow.session, value)
            added = await ledger.add_suppression(uow.session, value, scope, reason, source)
            why = _why(event, reason)
            cancelled = await ledger.cancel_scheduled(uow.session, value, scope, why)
            announce_cancelled(uow, cancelled, why, event)
            await uow.commit()
        log.info(
            "suppressed %s %s (%s); %d scheduled touches cancelled",
            scope,
            hash_email(value),
            "new" if added else "already listed",
            len(cancelled),
        )
