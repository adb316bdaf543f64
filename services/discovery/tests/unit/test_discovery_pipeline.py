"""Batches run one at a time up to their commit; a batch publishes while the next one runs; nothing is left behind."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from discovery.pipeline import BatchPipeline

Batch = Callable[[asyncio.Event], Awaitable[None]]


def recording(log: list[str], name: str, *, fail: bool = False, publish: asyncio.Event | None = None) -> Batch:
    async def batch(committed: asyncio.Event) -> None:
        log.append(f"{name} work")
        await asyncio.sleep(0)
        if fail:
            raise RuntimeError(f"{name} failed before its commit")
        log.append(f"{name} committed")
        committed.set()
        if publish is not None:
            await publish.wait()
        await asyncio.sleep(0)
        log.append(f"{name} published")

    return batch


async def test_the_next_batch_starts_at_the_commit_and_the_block_waits_for_the_last_publish() -> None:
    log: list[str] = []
    release_first = asyncio.Event()
    async with BatchPipeline() as pipeline:
        await pipeline.run(recording(log, "1", publish=release_first))
        assert log == ["1 work", "1 committed"]  # batch 1 is still publishing
        second = asyncio.ensure_future(pipeline.run(recording(log, "2")))
        await asyncio.sleep(0.01)
        assert "2 committed" in log
        assert not second.done()  # batch 2 waits for batch 1's publishing to end
        release_first.set()
        await second
        await pipeline.run(recording(log, "3"))
    assert log.index("1 published") < log.index("3 work")  # never more than one batch behind
    assert log[-1] == "3 published"  # leaving the block waits for the last one


async def test_a_failure_before_the_commit_is_raised_and_the_publishing_batch_still_finishes() -> None:
    log: list[str] = []
    release_first = asyncio.Event()

    async def import_two_batches() -> None:
        async with BatchPipeline() as pipeline:
            await pipeline.run(recording(log, "1", publish=release_first))
            asyncio.get_running_loop().call_later(0.01, release_first.set)
            await pipeline.run(recording(log, "2", fail=True))

    with pytest.raises(RuntimeError, match="2 failed"):
        await import_two_batches()
    assert "1 published" in log
    assert "2 committed" not in log
