"""Use case + loop: deliver queued calls out (team notification, Instantly interest status), with backoff.

Rows are leased (their next attempt pushed into the future) before the call, so several replicas never send
the same notification at once and a crash mid-call only delays it. A call that keeps failing is given up after
`max_attempts` with its last error kept in the row: the reply itself was committed long before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from coldstream_shared.http import send_with_retries
from replies.instantly import InstantlyClient, InstantlyError
from replies.store import pending_actions

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(hours=1)


class GiveUpError(Exception):
    """The endpoint refused the call for good (a 4xx): retrying cannot help."""


class Notifier(Protocol):
    async def send(self, text: str) -> None: ...


class SlackNotifier:
    """POSTs `{"text": ...}`: Slack incoming webhooks, Mattermost, Discord's /slack endpoint, Teams via a relay."""

    def __init__(self, url: str, *, base_delay: float = 0.5) -> None:
        self._url = url
        self._http = httpx.AsyncClient(timeout=10.0)
        self._base_delay = base_delay

    async def send(self, text: str) -> None:
        response = await send_with_retries(
            lambda: self._http.post(self._url, json={"text": text}), attempts=3, base_delay=self._base_delay
        )
        if response.status_code >= 400:
            raise GiveUpError(f"notification webhook answered {response.status_code}: {response.text[:200]}")

    async def close(self) -> None:
        await self._http.aclose()


class DeliverActions:
    """`run_once()` delivers what is due; `loop()` does it forever."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        notifier: Notifier | None,
        instantly: InstantlyClient | None,
        max_attempts: int = 12,
        base_backoff: timedelta = timedelta(seconds=5),
    ) -> None:
        self._sessions = sessions
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]] | None] = {
            "notify": (lambda p: notifier.send(p["text"])) if notifier else None,
            "interest": (lambda p: _interest(instantly, p)) if instantly else None,
        }
        self._max_attempts = max_attempts
        self._base_backoff = base_backoff

    async def run_once(self, batch: int = 20) -> int:
        """Deliver due calls, `batch` at a time, until none is due; returns how many were attempted."""
        total = 0
        while due := await self._lease(batch):
            await asyncio.gather(*(self._deliver(row) for row in due))
            total += len(due)
        return total

    async def _lease(self, batch: int) -> list[Any]:
        table = pending_actions
        due = (
            select(table.c.action_id)
            .where(table.c.done_at.is_(None), table.c.failed_at.is_(None), table.c.next_attempt_at <= func.now())
            .order_by(table.c.next_attempt_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(table)
                .where(table.c.action_id.in_(due.scalar_subquery()))
                .values(next_attempt_at=func.now() + LEASE, attempts=table.c.attempts + 1)
                .returning(table.c.action_id, table.c.kind, table.c.payload, table.c.attempts)
            )
            return list(result.all())

    async def _deliver(self, row: Any) -> None:
        handler = self._handlers.get(row.kind)
        try:
            if handler is None:
                raise GiveUpError(f"{row.kind} is not configured any more")
            await handler(row.payload)
        except GiveUpError as error:
            await self._finish(row, failed=str(error))
        except Exception as error:  # transport errors, retries exhausted: try again later
            if row.attempts >= self._max_attempts:
                await self._finish(row, failed=f"gave up after {row.attempts} attempts: {error}")
            else:
                await self._retry_later(row, error)
        else:
            await self._finish(row)

    async def _finish(self, row: Any, failed: str | None = None) -> None:
        values: dict[str, Any] = {"failed_at": func.now(), "last_error": failed} if failed else {"done_at": func.now()}
        if failed:
            log.error("queued %s %s failed for good: %s", row.kind, row.action_id, failed)
        async with self._sessions() as session, session.begin():
            mark = update(pending_actions).where(pending_actions.c.action_id == row.action_id)
            await session.execute(mark.values(values))

    async def _retry_later(self, row: Any, error: Exception) -> None:
        delay = min(self._base_backoff * 2 ** (row.attempts - 1), MAX_BACKOFF)
        log.warning(
            "queued %s %s failed (attempt %d), next in %s: %s", row.kind, row.action_id, row.attempts, delay, error
        )
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(pending_actions)
                .where(pending_actions.c.action_id == row.action_id)
                .values(next_attempt_at=func.now() + delay, last_error=str(error)[:1000])
            )


async def _interest(instantly: InstantlyClient | None, payload: dict[str, Any]) -> None:
    assert instantly is not None
    try:
        await instantly.update_interest_status(payload["lead_email"], payload["interest_value"])
    except InstantlyError as error:
        raise GiveUpError(str(error)) from error
