"""Group commit: webhooks share a batch, a failing batch is retried one by one; applying runs in the background."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

import pytest

from replies.batching import BackgroundApplier, ShuttingDownError, WebhookBatcher
from replies.webhooks import Webhook, parse


def hook(event_type: str, n: int) -> Webhook:
    return parse(f'{{"event_type": "{event_type}", "lead_email": "l{n}@b.test", "email_id": "{n}"}}'.encode())


async def test_concurrent_webhooks_share_batches_and_a_poison_one_fails_alone() -> None:
    batches: list[int] = []

    async def store(hooks: list[Webhook]) -> list[bool]:
        batches.append(len(hooks))
        await asyncio.sleep(0)
        if any(h.event_type == "poison" for h in hooks):
            raise ValueError("cannot store this one")
        return [True] * len(hooks)

    batcher = WebhookBatcher(store, concurrency=1)
    try:
        hooks = [hook("email_opened", n) for n in range(20)] + [hook("poison", 99)]
        results = await asyncio.gather(*(batcher(h) for h in hooks), return_exceptions=True)
    finally:
        await batcher.close()
    assert results[:20] == [True] * 20
    assert isinstance(results[20], ValueError)
    assert max(batches) > 1  # they were batched


async def test_results_follow_each_webhook() -> None:
    async def store(hooks: list[Webhook]) -> list[bool]:
        return [h.email_id == "1" for h in hooks]

    batcher = WebhookBatcher(store)
    try:
        assert await asyncio.gather(batcher(hook("email_sent", 1)), batcher(hook("email_sent", 2))) == [True, False]
    finally:
        await batcher.close()


async def test_queued_webhooks_are_refused_at_shutdown() -> None:
    started = asyncio.Event()

    async def store(hooks: list[Webhook]) -> list[bool]:
        started.set()
        await asyncio.sleep(0.05)
        return [True] * len(hooks)

    batcher = WebhookBatcher(store, max_batch=1, concurrency=1)
    first = asyncio.create_task(batcher(hook("email_sent", 1)))
    await started.wait()
    second = asyncio.create_task(batcher(hook("email_sent", 2)))
    await asyncio.sleep(0)
    await batcher.close()
    assert await first  # the running batch finished
    with pytest.raises(ShuttingDownError):
        await second


async def test_applier_keeps_order_isolates_a_failure_and_drains_at_close() -> None:
    applied: list[str] = []

    async def apply(hooks: list[Webhook], committed: Callable[[], None]) -> int:
        if any(h.event_type == "poison" for h in hooks):
            raise ValueError("cannot apply this one")
        applied.extend(h.email_id or "" for h in hooks)
        committed()
        await asyncio.sleep(0.01)  # publishing: the next batch may start meanwhile
        return len(hooks)

    async def nothing_left(_: int, __: timedelta) -> list[Webhook]:
        return []

    applier = BackgroundApplier(apply, nothing_left, max_batch=4)
    applier.soon([hook("reply_received", n) for n in range(5)])
    applier.soon([hook("poison", 99), hook("reply_received", 5)])
    await applier.close()  # applies what is queued first
    assert applied == [str(n) for n in range(6)]


async def test_sweep_applies_what_was_left_behind() -> None:
    stored = [hook("lead_unsubscribed", n) for n in range(5)]
    asked: list[timedelta] = []

    async def apply(hooks: list[Webhook], _: Callable[[], None]) -> int:
        for applied in hooks:
            stored.remove(applied)
        return len(hooks)

    async def left_behind(limit: int, older_than: timedelta) -> list[Webhook]:
        asked.append(older_than)
        return stored[:limit]

    applier = BackgroundApplier(apply, left_behind, max_batch=2)
    assert await applier.sweep() == 5  # page after page
    assert stored == []
    assert await applier.sweep() == 0
    # The first sweep takes every unapplied row (the previous process left them); later ones only old rows.
    assert asked[0] == timedelta(0)
    assert asked[-1] > timedelta(0)
    await applier.close()


async def test_applier_lingers_so_webhooks_arriving_apart_share_a_transaction() -> None:
    batches: list[int] = []

    async def apply(hooks: list[Webhook], committed: Callable[[], None]) -> int:
        batches.append(len(hooks))
        committed()
        return len(hooks)

    async def nothing_left(_: int, __: timedelta) -> list[Webhook]:
        return []

    applier = BackgroundApplier(apply, nothing_left, max_batch=10, linger=0.2)
    for n in range(3):
        applier.soon([hook("reply_received", n)])
        await asyncio.sleep(0.01)
    await applier.close()
    assert batches == [3]
