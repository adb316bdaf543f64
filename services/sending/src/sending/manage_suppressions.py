"""Use cases: manage the suppression list by hand — add, remove (audited), list and bulk import.

Plain async functions over a sessionmaker, for the CLI (`coldstream suppress add|remove|list|import`).

Touches an addition cancels are announced like the event-driven path announces them (`email.cancelled`, one per
lead and campaign), through the sending schema's outbox in the transaction that cancels them: the CLI may have no
broker at hand. With an `outbox` whose broker is connected they are published right after the commit; otherwise
(or when that publish fails) the running sending service's outbox relay publishes the rows it finds unpublished.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from faststream.nats import NatsBroker
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from coldstream_shared.outbox import Outbox, Pending
from coldstream_shared.telemetry import hash_email
from coldstream_shared.unit_of_work import current_trace_context
from sending import ledger
from sending.cancellations import cancelled_events
from sending.store import outbox as outbox_table
from sending.store import suppression_audit, suppressions
from sending.suppression import InvalidSuppressionError, Scope, parse_value

log = logging.getLogger(__name__)
Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Entry:
    """One entry of the suppression list, as shown to an operator."""

    value: str
    scope: Scope
    reason: str
    source: str
    created_at: datetime


@dataclass(frozen=True)
class ImportResult:
    """What a bulk import did: new entries, values already listed, and values that were not understood."""

    added: int
    already_listed: int
    invalid: list[str]


def stored_only(sessions: Sessions) -> Outbox:
    """An outbox that only stores events: the sending service's relay publishes them (no broker here)."""
    return Outbox(outbox_table, sessions, NatsBroker())


async def add(
    sessions: Sessions,
    value: str,
    reason: str,
    *,
    source: str = "manual",
    actor: str = "cli",
    outbox: Outbox | None = None,
) -> bool:
    """Suppress an address or a whole domain for good and cancel what was scheduled; True when it is new.

    `outbox` publishes the `email.cancelled` events right after the commit; without one they are stored only.
    """
    parsed = parse_value(value)
    box = outbox or stored_only(sessions)
    async with sessions() as session, session.begin():
        added, pending = await _add(session, box, *parsed, reason=reason, source=source, actor=actor)
    await _publish(outbox, pending)
    log.info("suppression %s %s by %s", hash_email(parsed[0]), "added" if added else "already listed", actor)
    return added


async def remove(sessions: Sessions, value: str, *, actor: str, reason: str) -> bool:
    """The only way an entry leaves the list: a named person, a reason, and an audit row. True when removed."""
    if not actor.strip() or not reason.strip():
        raise ValueError("removing a suppression needs an actor and a reason")
    normalised, scope = parse_value(value)
    async with sessions() as session, session.begin():
        await ledger.lock(session, normalised)
        removed = (
            await session.execute(
                delete(suppressions)
                .where(suppressions.c.value == normalised, suppressions.c.scope == scope)
                .returning(suppressions.c.source)
            )
        ).first()
        if removed is None:
            return False
        await _audit(session, normalised, scope, "removed", actor, reason, removed.source)
    # Touches cancelled or suppressed because of the entry stay that way: removal only allows future sends.
    log.warning("suppression %s removed by %s", hash_email(normalised), actor)
    return True


async def list_entries(sessions: Sessions, *, scope: Scope | None = None, contains: str | None = None) -> list[Entry]:
    """The suppression list, oldest first, optionally one scope or values containing a fragment."""
    query = select(suppressions).order_by(suppressions.c.created_at, suppressions.c.value)
    if scope is not None:
        query = query.where(suppressions.c.scope == scope)
    if contains:
        query = query.where(suppressions.c.value.contains(contains.strip().lower(), autoescape=True))
    async with sessions() as session:
        rows = await session.execute(query)
        return [Entry(r.value, r.scope, r.reason, r.source, r.created_at) for r in rows]


async def import_values(
    sessions: Sessions,
    values: Iterable[str],
    reason: str,
    *,
    source: str = "import",
    actor: str = "cli",
    outbox: Outbox | None = None,
) -> ImportResult:
    """Suppress many values at once (one transaction); blank lines are skipped, bad values reported, not fatal."""
    parsed: dict[str, Scope] = {}
    invalid: list[str] = []
    for raw in values:
        if not raw.strip():
            continue
        try:
            value, scope = parse_value(raw)
        except InvalidSuppressionError:
            invalid.append(raw.strip())
            continue
        parsed.setdefault(value, scope)
    added = 0
    box = outbox or stored_only(sessions)
    pending: list[Pending] = []
    async with sessions() as session, session.begin():
        # Sorted: the same lock order as any other importer, so two imports cannot deadlock.
        for value in sorted(parsed):
            new, stored = await _add(session, box, value, parsed[value], reason=reason, source=source, actor=actor)
            added += new
            pending += stored
    await _publish(outbox, pending)
    log.info(
        "suppression import by %s: %d added, %d already listed, %d invalid",
        actor,
        added,
        len(parsed) - added,
        len(invalid),
    )
    return ImportResult(added=added, already_listed=len(parsed) - added, invalid=invalid)


async def _add(
    session: AsyncSession, outbox: Outbox, value: str, scope: Scope, *, reason: str, source: str, actor: str
) -> tuple[bool, list[Pending]]:
    # The lock a send's reservation takes: a send in flight either reserved before this commits, or never happens.
    await ledger.lock(session, value)
    added = await ledger.add_suppression(session, value, scope, reason, source)
    if added:
        await _audit(session, value, scope, "added", actor, reason, source)
    why = ledger.COMPLAINT if reason == ledger.COMPLAINT else "suppressed"
    cancelled = await ledger.cancel_scheduled(session, value, scope, why)
    context = current_trace_context()
    events = [(event, context) for event in cancelled_events(cancelled, why, origin=("suppression", scope, value))]
    return added, await outbox.add(session, events)


async def _publish(outbox: Outbox | None, pending: list[Pending]) -> None:
    """After the commit: publish now when a broker is at hand; what fails here the service's relay publishes."""
    if outbox is None or not pending:
        return
    try:
        await outbox.publish(pending)
        await outbox.mark_published()
    except Exception as error:  # committed already: the rows stay unpublished, for the relay
        log.warning("%d email.cancelled left for the sending service's outbox relay: %r", len(pending), error)


async def _audit(
    session: AsyncSession, value: str, scope: Scope, action: str, actor: str, reason: str, source: str
) -> None:
    await session.execute(
        insert(suppression_audit).values(
            value=value, scope=scope, action=action, actor=actor, reason=reason, source=source
        )
    )
