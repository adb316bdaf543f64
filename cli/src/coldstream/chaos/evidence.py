"""What the checks judge, gathered once the run has settled: the sending schema, the fakes, the events.

Suppression times are *commit* times (Postgres `track_commit_timestamp`, on in the run's cluster): a suppression
holds from its commit on, and a send reserved before that commit is in flight by design. The commit time is read
from the inbox row (`processed_events`) that the suppressing transaction wrote; the suppression row itself is
updated later (mirrored to Instantly), so its own xmin would say when it was mirrored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream.chaos.campaign import ChaosCampaign
from coldstream.chaos.faults import FaultRecord, UnplannedExit
from coldstream.chaos.observe import Events
from coldstream.chaos.providers import Offer
from coldstream.chaos.webhooks import Delivery
from coldstream_shared import subjects
from sending.store import instantly_campaigns, send_ledger, suppressions, upload_batches
from sending.suppression import Scope, normalise_value

SUPPRESSING_SUBJECTS = (subjects.LEAD_UNSUBSCRIBED, subjects.LEAD_BOUNCED)


@dataclass(frozen=True)
class SuppressionEntry:
    value: str
    scope: str
    committed_at: float  # epoch seconds
    exact: bool  # the commit time itself (else the transaction's start, an earlier bound)
    mirrored: bool


@dataclass(frozen=True)
class Touch:
    """A first touch of the campaign, as the ledger has it."""

    lead_id: str
    email: str
    status: str
    decided_at: float | None  # attempt_at: when the current reservation (or take-over) was made
    batch_started_at: float | None  # start of the transaction that reserved it for its upload batch


@dataclass
class Evidence:
    campaign: ChaosCampaign
    funnel: dict[str, Any]
    complete: bool
    events: Events
    offers: list[Offer]
    blocklist: set[str]
    instantly_ids: set[str]  # our campaign at Instantly, as the sending schema maps it
    instantly_twins: int  # campaigns the fake holds under our campaign's name (1 expected)
    touches: dict[str, Touch]  # lead_id -> first touch
    suppressions: dict[str, SuppressionEntry]
    deliveries: list[Delivery]
    faults: list[FaultRecord]
    unplanned: list[UnplannedExit]
    seconds: float
    notes: list[str] = field(default_factory=list)


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


async def read_database(database_url: str, campaign_id: str, events: Events) -> tuple[Any, ...]:
    """(instantly ids, first touches, suppressions, notes) from the sending schema."""
    notes: list[str] = []
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            ids = set(
                (
                    await conn.execute(
                        select(instantly_campaigns.c.instantly_id).where(
                            instantly_campaigns.c.campaign_id == campaign_id
                        )
                    )
                ).scalars()
            )
            rows = await conn.execute(
                select(send_ledger, upload_batches.c.created_at.label("batch_started_at"))
                .outerjoin(upload_batches, upload_batches.c.id == send_ledger.c.upload_batch)
                .where(send_ledger.c.campaign_id == campaign_id, send_ledger.c.step == 1)
            )
            touches = {
                r.lead_id: Touch(r.lead_id, r.email, r.status, _epoch(r.attempt_at), _epoch(r.batch_started_at))
                for r in rows
            }
            entries = list(await conn.execute(select(suppressions)))
            commits = await _commit_times(conn, notes)
    finally:
        await engine.dispose()
    # The earliest committed suppressing event per suppression value.
    by_value: dict[str, float] = {}
    for subject in SUPPRESSING_SUBJECTS:
        for event in events.of(subject):
            scope: Scope = "domain" if event.get("scope") == "domain" else "email"
            value = normalise_value(str(event.get("email", "")), scope)
            at = commits.get(str(event.get("event_id")))
            if at is not None and (value not in by_value or at < by_value[value]):
                by_value[value] = at
    found = {}
    for row in entries:
        exact = row.value in by_value
        at = by_value[row.value] if exact else _epoch(row.created_at)
        found[row.value] = SuppressionEntry(row.value, row.scope, float(at or 0), exact, row.mirrored_at is not None)
    return ids, touches, found, notes


async def _commit_times(conn: Any, notes: list[str]) -> dict[str, float]:
    """event id -> commit time of the transaction that applied it in sending (suppressing events only)."""
    try:
        rows = await conn.execute(
            text(
                "SELECT event_id::text AS id, pg_xact_commit_timestamp(xmin) AS at FROM sending.processed_events"
                " WHERE subject = ANY(:subjects)"
            ),
            {"subjects": list(SUPPRESSING_SUBJECTS)},
        )
        return {r.id: r.at.timestamp() for r in rows if r.at is not None}
    except DBAPIError as error:  # track_commit_timestamp off: fall back to the rows' own (earlier) times
        notes.append(f"no commit timestamps ({type(error.orig).__name__}); suppression times are lower bounds")
        await conn.rollback()
        return {}
