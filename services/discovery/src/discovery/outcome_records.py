"""Repository writes for an import batch: every row's outcome, the leads, the exclusion log, organisations and
the campaign's counters, all in the caller's transaction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from discovery.exclusion import COUNTER_FOR_REASON
from discovery.outcomes import Outcome
from discovery.people import name_key
from discovery.store import campaigns, exclusions, lead_rows, leads, organisations

Carriers = Mapping[str, dict[str, str]]  # lead id -> trace context of a held lead


async def record_outcomes(
    session: AsyncSession,
    campaign_id: str,
    outcomes: Sequence[Outcome],
    labels: Mapping[int, str],
    carriers: Carriers | None = None,
    move_cursor: bool = True,
) -> None:
    """Write every row's outcome and the lead record of each first occurrence of an address, count them, and
    move the import cursor past the last row (not for rows from outside the files, such as referrals)."""
    carriers = carriers or {}
    await session.execute(insert(lead_rows), [_row_values(campaign_id, o) for o in outcomes])
    new_leads = [_lead_values(campaign_id, o, labels, carriers) for o in outcomes if o.lead is not None]
    if new_leads:
        await session.execute(insert(leads), new_leads)
    await log_exclusions(session, campaign_id, outcomes)
    await _remember_organisations(session, campaign_id, outcomes)
    last = outcomes[-1]
    cursor = {"cursor_source": last.source_index, "cursor_row": last.row_number} if move_cursor else {}
    await session.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id)
        .values(updated_at=func.now(), **cursor, **counter_increments(outcomes))
    )


async def log_exclusions(session: AsyncSession, campaign_id: str, outcomes: Sequence[Outcome]) -> None:
    """The exclusion log: one row per lead left out because of another campaign's facts."""
    logged = [
        {
            "campaign_id": campaign_id,
            "lead_id": o.lead_id,
            "email": o.email,
            "reason": o.exclusion.reason,
            "evidence_at": o.exclusion.evidence_at,
        }
        for o in outcomes
        if o.exclusion is not None
    ]
    if logged:
        await session.execute(insert(exclusions).on_conflict_do_nothing(), logged)


def counter_increments(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Relative counter updates, so batches add up.

    rows_read = published + held + invalid + duplicates + excluded; valid = rows_read - invalid;
    available = valid - duplicates - cross_excluded; scored = tier_a + tier_b + tier_c."""
    counts: Counter[str] = Counter()
    for o in outcomes:
        counts[o.kind] += 1
        counts["duplicates_fuzzy"] += o.reason_code == "duplicate_fuzzy"
        if o.exclusion is not None:
            counts["cross_excluded"] += 1
            counts[COUNTER_FOR_REASON[o.exclusion.reason]] += 1
        elif o.kind == "excluded" and o.reason_code in ("no_event_date", "outside_event_window"):
            counts["excluded_event_window"] += 1
        counts["excluded_below_tier"] += o.reason_code == "below_min_tier"
        if o.score is not None:
            counts["scored"] += 1
            counts["score_total"] += o.score.score
            counts[f"tier_{o.score.tier.lower()}"] += 1
    counts["available"] = len(outcomes) - counts["rejected"] - counts["duplicate"] - counts["cross_excluded"]
    renamed = {"rejected": "invalid", "duplicate": "duplicates"}
    increments: dict[str, Any] = {
        "rows_read": campaigns.c.rows_read + len(outcomes),
        "valid": campaigns.c.valid + len(outcomes) - counts["rejected"],
    }
    for key, value in counts.items():
        column = renamed.get(key, key)
        if value:
            increments[column] = campaigns.c[column] + value
    return increments


def _row_values(campaign_id: str, o: Outcome) -> dict[str, Any]:
    return {
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


def _lead_values(campaign_id: str, o: Outcome, labels: Mapping[int, str], carriers: Carriers) -> dict[str, Any]:
    assert o.lead is not None
    return {
        "lead_id": o.lead_id,
        "campaign_id": campaign_id,
        "email": o.email,
        "status": o.kind,
        "data": o.lead.model_dump(mode="json", exclude_defaults=True),
        "source": labels[o.source_index],
        "source_index": o.source_index,
        "row_number": o.row_number,
        "score": o.score.score if o.score else None,
        "tier": o.score.tier if o.score else None,
        "score_breakdown": o.score.breakdown if o.score else None,
        "company_domain": o.lead.company_domain,
        "name_key": name_key(o.lead),
        "linkedin_url": o.lead.linkedin_url,
        "trace_carrier": carriers.get(o.lead_id),
    }


async def _remember_organisations(session: AsyncSession, campaign_id: str, outcomes: Sequence[Outcome]) -> None:
    """Organisations deduplicated by domain: the first row that names one fills it, later rows fill its gaps."""
    by_domain: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        lead = o.lead
        if lead is None or not lead.company_domain:
            continue
        known = by_domain.setdefault(
            lead.company_domain, {"domain": lead.company_domain, "first_campaign_id": campaign_id, "leads": 0}
        )
        known["leads"] += 1
        for column, value in (
            ("name", lead.company),
            ("industry", lead.industry),
            ("company_size", lead.company_size),
            ("country", lead.country),
        ):
            if value is not None:
                known.setdefault(column, value)
    if not by_domain:
        return
    rows = [{"name": None, "industry": None, "company_size": None, "country": None} | v for v in by_domain.values()]
    statement = insert(organisations)
    new = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[organisations.c.domain],
            set_={
                "name": func.coalesce(organisations.c.name, new.name),
                "industry": func.coalesce(organisations.c.industry, new.industry),
                "company_size": func.coalesce(organisations.c.company_size, new.company_size),
                "country": func.coalesce(organisations.c.country, new.country),
                "leads": organisations.c.leads + new.leads,
                "updated_at": func.now(),
            },
        ),
        rows,
    )
