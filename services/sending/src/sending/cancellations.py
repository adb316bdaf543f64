"""Announcing cancelled touches: one `email.cancelled` per lead and campaign, with the steps that will not go."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from coldstream_shared.events import EmailCancelled, Event
from coldstream_shared.unit_of_work import UnitOfWork
from sending.outgoing import SERVICE


def announce_cancelled(uow: UnitOfWork, cancelled: Iterable[Any], reason: str, cause: Event) -> int:
    """Emit `email.cancelled` for the (lead_id, campaign_id, step, team_id) rows a cancellation returned."""
    steps: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for row in cancelled:
        steps[(row.lead_id, row.campaign_id, row.team_id)].append(row.step)
    for (lead_id, campaign_id, team_id), cancelled_steps in sorted(steps.items()):
        uow.emit(
            EmailCancelled.caused_by(
                cause,
                producer=SERVICE,
                key=(lead_id, campaign_id),
                lead_id=lead_id,
                campaign_id=campaign_id,
                team_id=team_id,
                correlation_id=lead_id,
                steps=sorted(cancelled_steps),
                reason=reason,
            )
        )
    return len(steps)
