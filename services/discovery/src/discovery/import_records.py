"""Repository for an import in progress: the campaign's cursor, what it already knows, every row's outcome."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from discovery.outcomes import Outcome
from discovery.people import People, name_key
from discovery.sources import Cursor
from discovery.store import campaigns, contacts, lead_rows, leads


@dataclass(frozen=True)
class ImportState:
    """Where a campaign's import stands, read under a row lock."""

    status: str
    started_event_id: uuid.UUID
    cursor: Cursor


async def lock_import(session: AsyncSession, campaign_id: str) -> ImportState:
    """Lock the campaign row for this transaction (one batch at a time per campaign) and read its state."""
    row = (
        await session.execute(
            select(campaigns.c.status, campaigns.c.started_event_id, campaigns.c.cursor_source, campaigns.c.cursor_row)
            .where(campaigns.c.id == campaign_id)
            .with_for_update()
        )
    ).one()
    return ImportState(row.status, row.started_event_id, Cursor(row.cursor_source, row.cursor_row))


async def known_addresses(
    session: AsyncSession, campaign_id: str, emails: set[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Which of these emails this campaign already has (email -> lead id), and which are suppressed (-> why)."""
    if not emails:
        return {}, {}
    seen = await session.execute(
        select(leads.c.email, leads.c.lead_id).where(leads.c.campaign_id == campaign_id, leads.c.email.in_(emails))
    )
    suppressed = await session.execute(
        select(contacts.c.email, contacts.c.suppressed_reason).where(
            contacts.c.email.in_(emails), contacts.c.suppressed_reason.is_not(None)
        )
    )
    return dict(seen.tuples().all()), dict(suppressed.tuples().all())


async def known_people(session: AsyncSession, campaign_id: str, domains: set[str]) -> People:
    """The campaign's leads at these company domains: domain -> [(name key, lead id)], oldest first."""
    if not domains:
        return {}
    rows = await session.execute(
        select(leads.c.company_domain, leads.c.name_key, leads.c.lead_id)
        .where(
            leads.c.campaign_id == campaign_id,
            leads.c.company_domain.in_(domains),
            leads.c.name_key.is_not(None),
        )
        .order_by(leads.c.source_index, leads.c.row_number)
    )
    people: People = {}
    for domain, key, lead_id in rows.tuples():
        people.setdefault(domain, []).append((key, lead_id))
    return people


async def record_outcomes(
    session: AsyncSession, campaign_id: str, outcomes: list[Outcome], labels: Mapping[int, str]
) -> None:
    """Write every row's outcome and the lead record of each first occurrence of an address, count them, and
    move the cursor past the last row; all in the caller's transaction."""
    await session.execute(
        insert(lead_rows),
        [
            {
                "campaign_id": campaign_id,
                "source_index": o.source_index,
                "row_number": o.row_number,
                "lead_id": o.lead_id,
                "outcome": o.kind,
                "email": o.email,
                "reason_code": o.reason_code,
                "reason": o.reason,
                "duplicate_of": o.duplicate_of,
            }
            for o in outcomes
        ],
    )
    new_leads = [
        {
            "lead_id": o.lead_id,
            "campaign_id": campaign_id,
            "email": o.email,
            "status": o.kind,
            "data": o.lead.model_dump(mode="json"),
            "source": labels[o.source_index],
            "source_index": o.source_index,
            "row_number": o.row_number,
            "score": o.score.score if o.score else None,
            "tier": o.score.tier if o.score else None,
            "score_breakdown": o.score.breakdown if o.score else None,
            "company_domain": o.lead.company_domain,
            "name_key": name_key(o.lead),
        }
        for o in outcomes
        if o.lead is not None
    ]
    if new_leads:
        await session.execute(insert(leads), new_leads)
    last = outcomes[-1]
    await session.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id)
        .values(
            cursor_source=last.source_index,
            cursor_row=last.row_number,
            updated_at=func.now(),
            **_counter_increments(outcomes),
        )
    )


def _counter_increments(outcomes: list[Outcome]) -> dict[str, Any]:
    """Relative counter updates, so batches add up; rows_read = published + invalid + duplicates + excluded."""
    count = {kind: sum(1 for o in outcomes if o.kind == kind) for kind in ("published", "rejected", "duplicate")}
    excluded = len(outcomes) - sum(count.values())
    return {
        "rows_read": campaigns.c.rows_read + len(outcomes),
        "valid": campaigns.c.valid + len(outcomes) - count["rejected"],
        "invalid": campaigns.c.invalid + count["rejected"],
        "duplicates": campaigns.c.duplicates + count["duplicate"],
        "excluded": campaigns.c.excluded + excluded,
        "published": campaigns.c.published + count["published"],
    }
