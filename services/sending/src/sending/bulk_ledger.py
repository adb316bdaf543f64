"""Bulk forms of the first-touch statements: one round trip per batch of messages, not one per message.

Every statement here has fixed text with one array parameter per column (`unnest`): SQLAlchemy compiles it once,
asyncpg prepares it once per connection, and no batch size comes near asyncpg's 32,767-parameter limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from coldstream_shared.events.envelope import Event
from sending.store import campaigns, processed, send_ledger, suppressions
from sending.suppression import Suppression, domain_of, normalise_email

_LEDGER = f"{send_ledger.schema}.{send_ledger.name}"
# Domains first, then addresses, each sorted (see `lock_keys`): a single send takes its domain then its address, so
# no two transactions can wait on each other's locks. Postgres evaluates a volatile select list after ORDER BY. The
# campaigns come back in the same round trip: a campaign row is returned only once the lock condition was evaluated,
# i.e. once every lock is held (a batch whose campaigns are all unknown may take none, and then sends nothing).
_LOCK_AND_LOAD = text(
    f"""
    WITH locks AS MATERIALIZED (
        SELECT pg_advisory_xact_lock(hashtext(k))
        FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS t(k, n) ORDER BY n
    )
    SELECT c.* FROM {campaigns.schema}.{campaigns.name} AS c
    WHERE c.campaign_id = ANY(CAST(:ids AS text[])) AND (SELECT count(*) FROM locks) >= 0
    """
).columns(*campaigns.c)
_LOCK = text(
    "SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS t(k, n) ORDER BY n"
)
# The events claimed, and the suppression list read, in one round trip. The claim runs to completion whatever
# the SELECT reads (a data-modifying WITH always does); the read sees every entry committed before this statement,
# so before the locks were granted.
_CLAIM_AND_READ = text(
    f"""
    WITH claimed AS (
        INSERT INTO {processed.schema}.{processed.name} (event_id, subject)
        SELECT * FROM unnest(CAST(:event_ids AS uuid[]), CAST(:subjects AS text[]))
        ON CONFLICT DO NOTHING
    )
    SELECT value, scope, reason FROM {suppressions.schema}.{suppressions.name}
    WHERE value = ANY(CAST(:values AS text[]))
    """
)
# reserved → sent for many touches, and in the same statement each one's next touch given its due time (or, for
# Instantly, every later touch handed over to its sequencer): one statement for the batch. Only rows
# still `reserved` move, so a touch another attempt recorded first is left alone (and not returned).
_RECORD_SENT = text(
    f"""
    WITH given AS (
        SELECT * FROM unnest(
            CAST(:ids AS uuid[]), CAST(:sent_at AS timestamptz[]), CAST(:message_ids AS text[]),
            CAST(:backends AS text[]), CAST(:accounts AS text[]), CAST(:next_due AS timestamptz[]),
            CAST(:hand_over AS boolean[])
        ) AS g(id, sent_at, message_id, backend, account, next_due, hand_over)
    ), sent AS (
        UPDATE {_LEDGER} AS l
        SET status = 'sent', sent_at = g.sent_at, message_id = g.message_id, backend = g.backend,
            account = g.account, error = NULL
        FROM given AS g
        WHERE l.id = g.id AND l.status = 'reserved'
        RETURNING l.id, l.lead_id, l.campaign_id, l.step, g.next_due, g.hand_over
    ), later AS (
        UPDATE {_LEDGER} AS l
        SET status = CASE WHEN s.hand_over THEN 'handed_over' ELSE l.status END,
            due_at = CASE WHEN s.hand_over THEN l.due_at ELSE s.next_due END
        FROM sent AS s
        WHERE l.lead_id = s.lead_id AND l.campaign_id = s.campaign_id AND l.status = 'scheduled'
          AND ((s.hand_over AND l.step > s.step)
               OR (NOT s.hand_over AND s.next_due IS NOT NULL AND l.step = s.step + 1 AND l.due_at IS NULL))
    )
    SELECT id FROM sent
    """
)


@dataclass(frozen=True)
class SentTouch:
    """What recording one delivered touch writes."""

    id: uuid.UUID
    sent_at: datetime
    message_id: str
    backend: str
    account: str | None
    next_due: datetime | None
    hand_over: bool


async def lock_and_load_campaigns(
    session: AsyncSession, emails: Iterable[str], campaign_ids: Iterable[str]
) -> dict[str, Any]:
    """Take the send locks of many addresses, in the one order every path takes them, and read their campaigns
    (by id; a campaign whose `campaign.started` has not arrived is missing)."""
    rows = await session.execute(_LOCK_AND_LOAD, {"keys": _lock_keys(emails), "ids": sorted(set(campaign_ids))})
    return {row.campaign_id: row for row in rows}


async def claim_and_read_suppressions(
    session: AsyncSession, events: Sequence[Event], emails: Iterable[str]
) -> list[Suppression]:
    """Claim the events, and return every entry that could block one of `emails` (its address or its domain).

    Call it after `lock_and_load_campaigns`: an entry committed before the locks were granted is then seen.
    """
    emails = list(emails)
    values = sorted({normalise_email(email) for email in emails} | {domain_of(email) for email in emails})
    rows = await session.execute(
        _CLAIM_AND_READ,
        {"event_ids": [e.event_id for e in events], "subjects": [e.subject for e in events], "values": values},
    )
    return [Suppression(r.value, r.scope, r.reason) for r in rows]


async def lock_many(session: AsyncSession, emails: Iterable[str]) -> None:
    """The send locks of many addresses (the uploader's round), in the one order every path takes them."""
    await session.execute(_LOCK, {"keys": _lock_keys(emails)})


async def suppressions_for_many(session: AsyncSession, emails: Iterable[str]) -> list[Suppression]:
    """Every entry that could block one of `emails`; read after `lock_many`."""
    return await claim_and_read_suppressions(session, (), emails)


def _lock_keys(emails: Iterable[str]) -> list[str]:
    emails = list(emails)
    return sorted({domain_of(email) for email in emails}) + sorted({normalise_email(email) for email in emails})


async def record_sent_many(session: AsyncSession, touches: Sequence[SentTouch]) -> set[uuid.UUID]:
    """Record delivered touches; returns the ids that moved reserved → sent now."""
    if not touches:
        return set()
    rows = await session.execute(
        _RECORD_SENT,
        {
            "ids": [t.id for t in touches],
            "sent_at": [t.sent_at for t in touches],
            "message_ids": [t.message_id for t in touches],
            "backends": [t.backend for t in touches],
            "accounts": [t.account for t in touches],
            "next_due": [t.next_due for t in touches],
            "hand_over": [t.hand_over for t in touches],
        },
    )
    return set(rows.scalars())
