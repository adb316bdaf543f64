"""Group commit: concurrent items share a store call; results, failures and cancellation reach every caller."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from coldstream_shared.group_commit import BatchAbandonedError, Committed, GroupCommit


class Store:
    """Records batches and answers each item doubled; `poison` fails any batch holding it, `hang` hangs it."""

    def __init__(self, poison: int | None = None, hang: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.poison, self.hang = poison, hang

    async def __call__(self, items: list[int], committed: Committed) -> None:
        await asyncio.sleep(10 if self.hang in items else 0.01)
        if self.poison in items:
            raise ValueError("poison")
        self.batches.append(items)
        committed([2 * item for item in items])


async def test_concurrent_items_share_few_batches_and_each_caller_gets_its_own_result() -> None:
    store = Store()
    group: GroupCommit[int, int] = GroupCommit(store, max_batch=10, concurrency=2)

    results = await asyncio.gather(*(group(i) for i in range(25)))

    assert results == [2 * i for i in range(25)]
    assert sorted(i for batch in store.batches for i in batch) == list(range(25)), "each item stored exactly once"
    assert len(store.batches) < 25 / 2
    assert max(len(batch) for batch in store.batches) <= 10


async def test_an_item_alone_is_stored_without_waiting_for_company() -> None:
    store = Store()
    assert await asyncio.wait_for(GroupCommit[int, int](store)(7), timeout=1) == 14
    assert store.batches == [[7]]


async def test_a_failing_batch_is_retried_item_by_item_so_only_the_bad_item_fails() -> None:
    store = Store(poison=3)
    group: GroupCommit[int, int] = GroupCommit(store, max_batch=10, concurrency=1)

    results = await asyncio.gather(*(group(i) for i in range(6)), return_exceptions=True)

    assert [type(r).__name__ for r in results] == ["int"] * 3 + ["ValueError"] + ["int"] * 2
    assert sorted(i for batch in store.batches for i in batch) == [0, 1, 2, 4, 5]


async def test_an_exception_as_an_items_result_fails_that_caller_alone() -> None:
    async def store(items: list[int], committed: Committed) -> None:
        committed([KeyError(i) if i == 1 else i for i in items])

    group: GroupCommit[int, int] = GroupCommit(store)
    results = await asyncio.gather(*(group(i) for i in range(3)), return_exceptions=True)

    assert [type(r).__name__ for r in results] == ["int", "KeyError", "int"]


async def test_a_failure_after_the_commit_does_not_fail_the_callers_already_told() -> None:
    async def store(items: list[int], committed: Committed) -> None:
        committed(items)
        raise RuntimeError("publishing after the commit failed")

    assert await GroupCommit[int, int](store)(5) == 5


async def test_a_cancelled_storer_fails_the_others_in_its_batch_instead_of_leaving_them_waiting() -> None:
    store = Store(hang=1)
    group: GroupCommit[int, int] = GroupCommit(store, max_batch=10, concurrency=1)
    first = asyncio.create_task(group(0))  # holds the only slot for 10 ms: the next three gather meanwhile
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(group(i)) for i in (1, 2, 3)]
    await first
    await asyncio.sleep(0.01)  # the batch [1, 2, 3], stored by item 1's caller, hangs
    waiting[0].cancel()

    results: Sequence[Any] = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), timeout=2)

    assert isinstance(results[0], asyncio.CancelledError)
    assert all(isinstance(r, BatchAbandonedError) for r in results[1:]), "redelivered later, not stuck"
