"""Group commit: concurrent webhooks share a batch; a failing batch is retried one by one."""

from __future__ import annotations

import asyncio

from replies.batching import WebhookBatcher
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

    batcher = WebhookBatcher(store, workers=1)
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
