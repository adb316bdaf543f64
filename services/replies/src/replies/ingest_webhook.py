"""Use case: accept Instantly webhooks durably; what they cause is applied right after (see `apply_webhooks.py`).

The acknowledgement waits for one statement: the raw payloads of a whole batch stored in a single INSERT that
commits by itself (no BEGIN, no separate COMMIT: one round trip and one WAL flush). Under load the other work a
webhook causes (a reply recorded and classified, events stored and published) no longer sits between a sender
and its 200; it is durable work either way, claimed exactly once from `webhook_inbox`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from coldstream_shared.sql import insert_many_or_skip
from replies.apply_webhooks import acts
from replies.store import webhook_inbox
from replies.webhooks import Webhook

# One statement for a whole batch, whatever its size: returns the keys that were new.
STORE_WEBHOOKS = insert_many_or_skip(
    webhook_inbox, ("dedup_key", "event_type", "payload", "applied_at"), returning="dedup_key"
)


class IngestWebhook:
    """Store raw webhooks (a replay is stored once) and hand the new ones that need applying to `apply_soon`."""

    def __init__(self, engine: AsyncEngine, apply_soon: Callable[[list[Webhook]], None]) -> None:
        # Autocommit: the single INSERT is its own transaction, durable when it returns (synchronous_commit on).
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
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
        columns = {
            "dedup_key": [hook.dedup_key for hook in unique],
            "event_type": [hook.event_type for hook in unique],
            "payload": [hook.payload for hook in unique],
            # Nothing more to do for opens, sends, clicks...: stored as applied, so no sweep ever looks at them.
            "applied_at": [None if acts(hook) else now for hook in unique],
        }
        async with self._engine.connect() as connection:
            inserted = set((await connection.execute(STORE_WEBHOOKS, columns)).scalars())
        new = [hook.dedup_key in inserted and first[hook.dedup_key] == i for i, hook in enumerate(hooks)]
        if applying := [hook for hook, is_new in zip(hooks, new, strict=True) if is_new and acts(hook)]:
            self._apply_soon(applying)
        return new
