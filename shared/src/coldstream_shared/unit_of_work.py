"""One transaction per message: claim the event, change state, store outgoing events, commit, then publish."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self, TypeVar

from opentelemetry import propagate
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from coldstream_shared.db import claim_event, claim_events
from coldstream_shared.events.envelope import Event
from coldstream_shared.outbox import Outbox, Pending

log = logging.getLogger(__name__)
T = TypeVar("T")


def current_trace_context() -> dict[str, str]:
    """The active trace context as headers, to emit an event in this span later from another task."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


class UnitOfWork:
    """`async with uow:` opens a transaction; `commit()` makes writes and emitted events durable together."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], processed: Table, outbox: Outbox) -> None:
        self._sessions = sessions
        self._processed = processed
        self._outbox = outbox
        self._emitted: list[tuple[Event, dict[str, str]]] = []
        self._committed: list[Pending] = []
        self.session: AsyncSession

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        await self.session.begin()
        self._emitted = []
        return self

    async def claim(self, event: Event) -> bool:
        """False when this event was applied before: the caller then does nothing."""
        return await claim_event(self.session, self._processed, event)

    async def claim_fresh(self, items: Sequence[T], event_of: Callable[[T], Event]) -> list[T]:
        """`claim` for a group commit: one statement for every item's event; the items whose events were not applied
        before, in the given order, each event once (a redelivery racing the first in one batch applies once)."""
        claimed = await claim_events(self.session, self._processed, [event_of(item) for item in items])
        fresh: list[T] = []
        for item in items:
            event_id = event_of(item).event_id
            if event_id in claimed:
                claimed.discard(event_id)
                fresh.append(item)
        return fresh

    def emit(self, *events: Event, trace_context: dict[str, str] | None = None) -> None:
        """Queue events to be stored with this transaction and published after it commits.

        The current trace context is captured now, so an event emitted inside a lead's span continues that
        lead's trace even though it is published later. A transaction that stores several leads' work (a group
        commit) passes each lead's own `trace_context` (see `current_trace_context`) instead.
        """
        carrier = trace_context if trace_context is not None else current_trace_context()
        self._emitted.extend((event, carrier) for event in events)

    async def commit(self) -> None:
        """Store the emitted events and commit everything at once."""
        stored = await self._outbox.add(self.session, self._emitted)
        await self.session.commit()
        self._committed.extend(stored)
        self._emitted = []

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.session.in_transaction():
            await self.session.rollback()
        await self.session.close()
        committed, self._committed = self._committed, []
        if committed:
            # The work is committed by now (even if the caller raised afterwards): a failed publish must not make
            # the caller believe otherwise; the relay publishes what is left. A crash right here is repaired the
            # same way, so a redelivered duplicate has nothing to republish.
            try:
                await self._outbox.publish(committed)
            except Exception:
                log.warning("publishing after commit failed; the outbox relay will retry", exc_info=True)
