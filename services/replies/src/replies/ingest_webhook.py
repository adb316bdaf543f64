"""Use case: accept Instantly webhooks durably; what they cause is applied right after (see `apply_webhooks.py`).

The acknowledgement waits for one statement: the raw payloads of a whole batch stored in a single INSERT that
commits by itself (no BEGIN, no separate COMMIT: one round trip and one WAL flush). Under load the other work a
webhook causes (a reply recorded and classified, events stored and published) no longer sits between a sender
and its 200; it is durable work either way, claimed exactly once from `webhook_inbox`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from replies.apply_webhooks import acts
from replies.store import webhook_inbox
from replies.webhooks import Webhook

# One statement for a whole batch, whatever its size (one array per column): returns the keys that were new.
# Sent to asyncpg as it is: through SQLAlchemy's execution layer and its per-element JSON bind processing this
# statement cost as much CPU as the round trip itself, on the path every sender waits on.
STORE_WEBHOOKS = (
    f"INSERT INTO {webhook_inbox.schema}.{webhook_inbox.name} (dedup_key, event_type, payload, applied_at)"
    " SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::jsonb[], $4::timestamptz[])"
    " ON CONFLICT DO NOTHING RETURNING dedup_key"
)


class IngestWebhook:
    """Store raw webhooks (a replay is stored once) and hand the new ones that need applying to `apply_soon`."""

    def __init__(self, engine: AsyncEngine, apply_soon: Callable[[list[Webhook]], None]) -> None:
        self._engine = engine
        self._apply_soon = apply_soon

    async def __call__(self, hook: Webhook) -> bool:
        """True when this delivery is new, False for a replay. Either way it is durable when this returns."""
        [new] = await self.store_batch([hook])
        return new

    async def store_batch(self, hooks: list[Webhook]) -> list[bool]:
        """Several deliveries in one statement (one commit): whether each was new."""
        first: dict[str, int] = {}
        for index, hook in enumerate(hooks):
            first.setdefault(hook.dedup_key, index)
        # Sorted: concurrent batches take the key locks in the same order, so they cannot deadlock.
        unique = [hooks[i] for _, i in sorted(first.items())]
        now = datetime.now(UTC)
        columns = (
            [hook.dedup_key for hook in unique],
            [hook.event_type for hook in unique],
            [json.dumps(hook.payload) for hook in unique],
            # Nothing more to do for opens, sends, clicks...: stored as applied, so no sweep ever looks at them.
            [None if acts(hook) else now for hook in unique],
        )
        async with self._engine.connect() as connection:
            # asyncpg outside a transaction: the INSERT commits by itself, durable when it returns
            # (synchronous_commit on). SQLAlchemy began none on this connection, so its return to the pool is free.
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None  # a checked-out connection has its asyncpg connection
            try:
                inserted = {row[0] for row in await driver.fetch(STORE_WEBHOOKS, *columns)}
            except Exception:
                if driver.is_closed():  # SQLAlchemy did not see the failure: keep a dead connection out of the pool
                    await connection.invalidate()
                raise
        new = [hook.dedup_key in inserted and first[hook.dedup_key] == i for i, hook in enumerate(hooks)]
        if applying := [hook for hook, is_new in zip(hooks, new, strict=True) if is_new and acts(hook)]:
            self._apply_soon(applying)
        return new
