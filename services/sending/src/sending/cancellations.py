"""Announcing cancelled touches: one `email.cancelled` per lead and campaign, with the steps that will not go."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from typing import Any

from coldstream_shared.events import EmailCancelled, Event
from coldstream_shared.unit_of_work import UnitOfWork
from sending.outgoing import SERVICE


def announce_cancelled(uow: UnitOfWork, cancelled: Iterable[Any], reason: str, cause: Event) -> int:
    """Emit `email.cancelled` for the (lead_id, campaign_id, step, team_id) rows a cancellation returned."""
    events = cancelled_events(cancelled, reason, cause=cause)
    uow.emit(*events)
    return len(events)


def cancelled_events(
    cancelled: Iterable[Any], reason: str, *, cause: Event | None = None, origin: tuple[Hashable, ...] = ()
) -> list[EmailCancelled]:
    """One `email.cancelled` per lead and campaign among the cancelled rows.

    Caused by an event, each id derives from that event. With no event (an operator's suppression), from `origin`
    and the touches themselves: a touch is cancelled once, so the same origin later cancels other touches, under
    another id.
    """
    steps: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for row in cancelled:
        steps[(row.lead_id, row.campaign_id, row.team_id)].append(row.step)
    events = []
    for (lead_id, campaign_id, team_id), lead_steps in sorted(steps.items()):
        fields: dict[str, Any] = {
            "producer": SERVICE,
            "lead_id": lead_id,
            "campaign_id": campaign_id,
            "team_id": team_id,
            "correlation_id": lead_id,
            "steps": sorted(lead_steps),
            "reason": reason,
        }
        if cause is not None:
            events.append(EmailCancelled.caused_by(cause, key=(lead_id, campaign_id), **fields))
        else:
            key = (*origin, lead_id, campaign_id, *sorted(lead_steps))
            events.append(EmailCancelled.originate(key=key, **fields))
    return events
