"""Repository writes for an import batch: every row's outcome, the leads, the exclusion log, organisations and
the campaign's counters, all in the caller's transaction.

A batch writes a thousand rows to each table, so each table gets one statement on the asyncpg connection under the
session, not one SQLAlchemy execution per row: COPY for the tables that only ever receive new rows (a row's
outcome and a lead are written once, under the campaign's row lock and after its cursor), and one INSERT over
`unnest` of an array per column where a conflict must be resolved (the exclusion log, organisations). Neither
counts against asyncpg's 32,767 parameters, and JSON is serialised here by pydantic's encoder (json.dumps took
5x longer).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from pydantic_core import to_json
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from discovery.driver import driver_connection
from discovery.exclusion import COUNTER_FOR_REASON
from discovery.outcomes import Outcome
from discovery.people import name_key
from discovery.store import SCHEMA, campaigns

Carriers = Mapping[str, dict[str, str]]  # lead id -> trace context of a held lead

ROW_COLUMNS: tuple[str, ...] = ("campaign_id", "source_index", "row_number", "lead_id", "outcome", "email")
ROW_COLUMNS += ("reason_code", "reason", "duplicate_of")
LEAD_COLUMNS: tuple[str, ...] = ("lead_id", "campaign_id", "email", "status", "data", "source", "source_index")
LEAD_COLUMNS += ("row_number", "score", "tier", "score_breakdown", "company_domain", "name_key", "linkedin_url")
LEAD_COLUMNS += ("trace_carrier",)
_LOG_EXCLUSIONS = f"""
INSERT INTO {SCHEMA}.exclusions (campaign_id, lead_id, email, reason, evidence_at)
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[])
ON CONFLICT DO NOTHING
"""
# The first row that names a domain fills the organisation, later rows fill its gaps.
_REMEMBER_ORGANISATIONS = f"""
INSERT INTO {SCHEMA}.organisations AS o (first_campaign_id, domain, name, industry, company_size, country, leads)
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::int[])
ON CONFLICT (domain) DO UPDATE SET
    name = coalesce(o.name, excluded.name),
    industry = coalesce(o.industry, excluded.industry),
    company_size = coalesce(o.company_size, excluded.company_size),
    country = coalesce(o.country, excluded.country),
    leads = o.leads + excluded.leads,
    updated_at = now()
"""


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
    connection = await driver_connection(session)
    await connection.copy_records_to_table(
        "lead_rows", schema_name=SCHEMA, columns=ROW_COLUMNS, records=[_row_record(campaign_id, o) for o in outcomes]
    )
    new_leads = [_lead_record(campaign_id, o, labels, carriers) for o in outcomes if o.lead is not None]
    if new_leads:
        await connection.copy_records_to_table("leads", schema_name=SCHEMA, columns=LEAD_COLUMNS, records=new_leads)
    await log_exclusions(session, campaign_id, outcomes)
    await _remember_organisations(connection, campaign_id, outcomes)
    last = outcomes[-1]
    cursor = {"cursor_source": last.source_index, "cursor_row": last.row_number} if move_cursor else {}
    await session.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign_id)
        .values(updated_at=func.now(), **cursor, **counter_increments(outcomes))
    )


async def log_exclusions(session: AsyncSession, campaign_id: str, outcomes: Sequence[Outcome]) -> None:
    """The exclusion log: one row per lead left out because of another campaign's facts."""
    logged = [(o.lead_id, o.email, o.exclusion) for o in outcomes if o.exclusion is not None]
    if not logged:
        return
    connection = await driver_connection(session)
    await connection.execute(
        _LOG_EXCLUSIONS,
        campaign_id,
        [lead_id for lead_id, _, _ in logged],
        [email for _, email, _ in logged],
        [exclusion.reason for _, _, exclusion in logged],
        [exclusion.evidence_at for _, _, exclusion in logged],
    )


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


def _row_record(campaign_id: str, o: Outcome) -> tuple[Any, ...]:
    return (
        campaign_id,
        o.source_index,
        o.row_number,
        o.lead_id,
        o.kind,
        o.email,
        o.reason_code,
        o.reason,
        o.duplicate_of,
    )


def _lead_record(campaign_id: str, o: Outcome, labels: Mapping[int, str], carriers: Carriers) -> tuple[Any, ...]:
    assert o.lead is not None
    score, carrier = o.score, carriers.get(o.lead_id)
    return (
        o.lead_id,
        campaign_id,
        o.email,
        o.kind,
        o.lead.model_dump_json(exclude_defaults=True),
        labels[o.source_index],
        o.source_index,
        o.row_number,
        score.score if score else None,
        score.tier if score else None,
        to_json(score.breakdown).decode() if score else None,
        o.lead.company_domain,
        name_key(o.lead),
        o.lead.linkedin_url,
        to_json(carrier).decode() if carrier is not None else None,
    )


async def _remember_organisations(
    connection: asyncpg.Connection, campaign_id: str, outcomes: Sequence[Outcome]
) -> None:
    """Organisations deduplicated by domain: the first row that names one fills it, later rows fill its gaps."""
    by_domain: dict[str, list[Any]] = {}
    for o in outcomes:
        lead = o.lead
        if lead is None or not lead.company_domain:
            continue
        known = by_domain.get(lead.company_domain)
        if known is None:
            by_domain[lead.company_domain] = [
                lead.company_domain,
                lead.company,
                lead.industry,
                lead.company_size,
                lead.country,
                1,
            ]
            continue
        known[5] += 1
        for i, value in enumerate((lead.company, lead.industry, lead.company_size, lead.country), start=1):
            if known[i] is None:
                known[i] = value
    if by_domain:
        await connection.execute(_REMEMBER_ORGANISATIONS, campaign_id, *zip(*by_domain.values(), strict=True))
