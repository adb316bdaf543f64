"""Repository over the `sending` schema: the queries the use cases speak in."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Row, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import TextualSelect

from coldstream_shared.ids import stable_id
from sending.store import campaigns, send_ledger, suppressions
from sending.suppression import Scope, Suppression, domain_of, lock_keys, normalise_email

LedgerRow = Row[Any]
# The suppression reason of a spam complaint (a reply reporting us, `suppress add --reason complaint`).
COMPLAINT = "complaint"


def touch_id(lead_id: str, campaign_id: str, step: int) -> uuid.UUID:
    """The ledger id of a touch: deterministic, so the Message-ID of a touch never changes."""
    return stable_id("touch", lead_id, campaign_id, step)


def _locks(keys: Sequence[str]) -> list[Any]:
    # All keys in one round trip: Postgres evaluates a select list left to right, so the order is kept.
    return [func.pg_advisory_xact_lock(func.hashtext(key)) for key in keys]


async def lock(session: AsyncSession, *keys: str) -> None:
    """Serialise sends and suppressions of the same address or domain until this transaction ends."""
    await session.execute(select(*_locks(keys)))


async def lock_address(session: AsyncSession, email: str) -> None:
    """The locks a send takes: its domain and its address (a suppression takes one of the two)."""
    await lock(session, *lock_keys(email))


async def lock_address_and_load_campaign(session: AsyncSession, email: str, campaign_id: str) -> Row[Any] | None:
    """`lock_address` and `load_campaign` in one round trip; no lock is taken when the campaign is unknown.

    The check that must see suppressions committed before the lock still reads after this statement.
    """
    query = select(campaigns, *_locks(lock_keys(email))).where(campaigns.c.campaign_id == campaign_id)
    return (await session.execute(query)).first()


async def suppressions_for(session: AsyncSession, email: str) -> list[Suppression]:
    """Entries that could block `email`: its address or its domain."""
    rows = await session.execute(
        select(suppressions.c.value, suppressions.c.scope, suppressions.c.reason).where(
            suppressions.c.value.in_([normalise_email(email), domain_of(email)])
        )
    )
    return [Suppression(r.value, r.scope, r.reason) for r in rows]


async def add_suppression(session: AsyncSession, value: str, scope: Scope, reason: str, source: str) -> bool:
    """Insert a permanent entry; True when it is new (or became a complaint).

    The first reason recorded wins, but for a complaint: it replaces a milder reason and nothing replaces it
    (sticky), because a spam report is what a sender's reputation is judged on and must stay visible as such.
    """
    statement = insert(suppressions).values(value=value, scope=scope, reason=reason, source=source)
    if reason == COMPLAINT:
        statement = statement.on_conflict_do_update(
            index_elements=[suppressions.c.value],
            set_={"reason": reason, "source": source},
            where=suppressions.c.reason != COMPLAINT,
        )
    else:
        statement = statement.on_conflict_do_nothing()
    result = await session.execute(statement.returning(suppressions.c.value))
    return result.first() is not None


# Touches nobody has taken out yet. A `handed_over` touch sits in Instantly's sequencer: cancelling it here records
# the decision; Instantly itself stops it (stop_on_reply, stop_for_company, its block list).
NOT_YET_SENT = ("scheduled", "handed_over")


async def cancel_scheduled(session: AsyncSession, value: str, scope: Scope, why: str = "suppressed") -> list[Any]:
    """Cancel touches not yet reserved for an address or a whole domain; returns (lead, campaign, step) rows."""
    match = send_ledger.c.email == value if scope == "email" else func.split_part(send_ledger.c.email, "@", 2) == value
    result = await session.execute(
        update(send_ledger)
        .where(match, send_ledger.c.status.in_(NOT_YET_SENT))
        .values(status="cancelled", error=f"{why} before it was due")
        .returning(send_ledger.c.lead_id, send_ledger.c.campaign_id, send_ledger.c.step, send_ledger.c.team_id)
    )
    return list(result.all())


async def cancel_remaining(
    session: AsyncSession, campaign_id: str, why: str, *, lead_id: str | None = None, domain: str | None = None
) -> list[Any]:
    """Cancel a lead's (or a whole company domain's) touches in one campaign; returns (lead, campaign, step) rows."""
    match = (
        send_ledger.c.lead_id == lead_id
        if domain is None
        else func.split_part(send_ledger.c.email, "@", 2) == domain.lower()
    )
    result = await session.execute(
        update(send_ledger)
        .where(match, send_ledger.c.campaign_id == campaign_id, send_ledger.c.status.in_(NOT_YET_SENT))
        .values(status="cancelled", error=why)
        .returning(send_ledger.c.lead_id, send_ledger.c.campaign_id, send_ledger.c.step, send_ledger.c.team_id)
    )
    return list(result.all())


async def postpone_remaining(session: AsyncSession, lead_id: str, campaign_id: str, not_before: datetime) -> int:
    """Move a lead's due touches to `not_before` at the earliest (an out-of-office reply); returns how many."""
    result = await session.execute(
        update(send_ledger)
        .where(
            send_ledger.c.lead_id == lead_id,
            send_ledger.c.campaign_id == campaign_id,
            send_ledger.c.status == "scheduled",
            send_ledger.c.due_at.is_not(None),
            send_ledger.c.due_at < not_before,
        )
        .values(due_at=not_before)
        .returning(send_ledger.c.id)
    )
    return len(result.all())


async def save_campaign(session: AsyncSession, **values: Any) -> None:
    """Insert or refresh a campaign's projection."""
    stmt = insert(campaigns).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[campaigns.c.campaign_id],
            set_={**{k: stmt.excluded[k] for k in values if k != "campaign_id"}, "updated_at": func.now()},
        )
    )


async def load_campaign(session: AsyncSession, campaign_id: str) -> Row[Any] | None:
    """A campaign's projection, or None when `campaign.started` has not arrived yet."""
    return (await session.execute(select(campaigns).where(campaigns.c.campaign_id == campaign_id))).first()


# The columns a new touch is inserted with (`add_touches`); the rest keep their defaults.
TOUCH_COLUMNS = (
    "id", "team_id", "lead_id", "campaign_id", "step", "variant", "email", "subject", "body", "delay_days",
    "backend", "status", "causation_id", "lead_timezone", "reserved_at", "attempt_at", "unsubscribe_token",
)  # fmt: skip
_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]  # only renders SQL


def _add_touches_statement() -> TextualSelect:
    # Fixed text, one array per column: SQLAlchemy compiles it once (`postgresql.insert(...)` has no cache key and is
    # compiled again on every send) and asyncpg prepares it once per connection, for any number of touches.
    arrays = ", ".join(f"CAST(:{c} AS {send_ledger.c[c].type.compile(dialect=_DIALECT)}[])" for c in TOUCH_COLUMNS)
    statement = text(
        f"INSERT INTO {send_ledger.schema}.{send_ledger.name} ({', '.join(TOUCH_COLUMNS)})"
        f" SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING"
        f" RETURNING {', '.join(c.name for c in send_ledger.c)}"
    )
    return statement.bindparams(*(bindparam(c, type_=ARRAY(send_ledger.c[c].type)) for c in TOUCH_COLUMNS)).columns(
        *send_ledger.c
    )


_ADD_TOUCHES = _add_touches_statement()


async def add_touches(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[LedgerRow]:
    """Record touches; a touch already in the ledger is kept as it is (promise 2). Returns the rows inserted now."""
    result = await session.execute(_ADD_TOUCHES, {c: [row[c] for row in rows] for c in TOUCH_COLUMNS})
    return list(result.all())


async def load_touch(session: AsyncSession, ledger_id: uuid.UUID, *, for_update: bool = False) -> LedgerRow | None:
    """One ledger row."""
    query = select(send_ledger).where(send_ledger.c.id == ledger_id)
    return (await session.execute(query.with_for_update() if for_update else query)).first()


async def transition(session: AsyncSession, ledger_id: uuid.UUID, source: str, **values: Any) -> LedgerRow | None:
    """Move a touch out of status `source`; None when it was no longer there (someone else moved it)."""
    result = await session.execute(
        update(send_ledger)
        .where(send_ledger.c.id == ledger_id, send_ledger.c.status == source)
        .values(**values)
        .returning(*send_ledger.c)
    )
    return result.first()


async def take_over(session: AsyncSession, row: LedgerRow, now: datetime) -> bool:
    """Take a reservation from an attempt whose lease ran out; False when another attempt took it first."""
    result = await session.execute(
        update(send_ledger)
        .where(
            send_ledger.c.id == row.id, send_ledger.c.status == "reserved", send_ledger.c.attempt_at == row.attempt_at
        )
        .values(attempt_at=now)
        .returning(send_ledger.c.id)
    )
    return result.first() is not None


async def release(session: AsyncSession, ledger_id: uuid.UUID, held_since: datetime, expired: datetime) -> None:
    """Give up the lease of an attempt that stopped (a transient failure), so the retry need not wait it out."""
    await session.execute(
        update(send_ledger)
        .where(
            send_ledger.c.id == ledger_id, send_ledger.c.status == "reserved", send_ledger.c.attempt_at == held_since
        )
        .values(attempt_at=expired)
    )


async def cancel_later_steps(session: AsyncSession, lead_id: str, campaign_id: str, step: int, why: str) -> int:
    """Cancel the touches after `step` that have not gone out; returns how many."""
    result = await session.execute(
        update(send_ledger)
        .where(
            send_ledger.c.lead_id == lead_id,
            send_ledger.c.campaign_id == campaign_id,
            send_ledger.c.step > step,
            send_ledger.c.status == "scheduled",
        )
        .values(status="cancelled", error=why)
        .returning(send_ledger.c.id)
    )
    return len(result.all())


async def set_due_at(session: AsyncSession, ledger_id: uuid.UUID, due_at: datetime) -> None:
    """Look at a scheduled touch again at `due_at` (held by its send window or account limits)."""
    await session.execute(
        update(send_ledger)
        .where(send_ledger.c.id == ledger_id, send_ledger.c.status == "scheduled")
        .values(due_at=due_at)
    )


async def set_due(session: AsyncSession, lead_id: str, campaign_id: str, step: int, due_at: datetime) -> None:
    """Give the next touch its due time, once the previous one went out."""
    await session.execute(
        update(send_ledger)
        .where(
            send_ledger.c.lead_id == lead_id,
            send_ledger.c.campaign_id == campaign_id,
            send_ledger.c.step == step,
            send_ledger.c.status == "scheduled",
            send_ledger.c.due_at.is_(None),
        )
        .values(due_at=due_at)
    )


async def touches_to_send(session: AsyncSession, now: datetime, stale_before: datetime, limit: int) -> list[Any]:
    """Ids of touches that are due, and of reservations old enough to be reconciled (a crash mid-send)."""
    due = (send_ledger.c.status == "scheduled") & (send_ledger.c.due_at <= now)
    stale = (send_ledger.c.status == "reserved") & (send_ledger.c.attempt_at < stale_before)
    # A paused campaign (bounce alert, operator) sends nothing, and reconciles nothing, until it is resumed.
    active = select(campaigns.c.campaign_id).where(campaigns.c.paused_reason.is_(None))
    rows = await session.execute(
        select(send_ledger.c.id, send_ledger.c.status)
        .where(due | stale, send_ledger.c.campaign_id.in_(active))
        .order_by(send_ledger.c.due_at)
        .limit(limit)
    )
    return list(rows)
