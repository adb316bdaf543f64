"""Group commit: concurrent outcomes share a store call; failures and cancellation reach every waiting caller."""

from __future__ import annotations

import asyncio

from enrichment.group_commit import BatchAbandonedError, GroupCommit


class Store:
    """Records batches; `poison` makes any batch holding it fail, `hang` any batch holding it hang."""

    def __init__(self, poison: int | None = None, hang: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.poison, self.hang = poison, hang

    async def __call__(self, items: list[int]) -> None:
        await asyncio.sleep(10 if self.hang in items else 0.01)
        if self.poison in items:
            raise ValueError("poison")
        self.batches.append(items)


async def test_concurrent_items_are_stored_in_few_batches_and_each_caller_waits_for_its_own() -> None:
    store = Store()
    group = GroupCommit(store, max_batch=10, concurrency=2)

    await asyncio.gather(*(group(i) for i in range(25)))

    assert sorted(i for batch in store.batches for i in batch) == list(range(25)), "each item stored exactly once"
    assert len(store.batches) < 25 / 2
    assert max(len(batch) for batch in store.batches) <= 10


async def test_an_item_alone_is_stored_without_waiting_for_company() -> None:
    store = Store()
    await asyncio.wait_for(GroupCommit(store)(7), timeout=1)
    assert store.batches == [[7]]


async def test_a_failing_batch_is_retried_item_by_item_so_only_the_bad_item_fails() -> None:
    store = Store(poison=3)
    group = GroupCommit(store, max_batch=10, concurrency=1)

    results = await asyncio.gather(*(group(i) for i in range(6)), return_exceptions=True)

    assert [type(r).__name__ for r in results] == ["NoneType"] * 3 + ["ValueError"] + ["NoneType"] * 2
    assert sorted(i for batch in store.batches for i in batch) == [0, 1, 2, 4, 5]


async def test_a_cancelled_storer_fails_the_others_in_its_batch_instead_of_leaving_them_waiting() -> None:
    store = Store(hang=1)
    group = GroupCommit(store, max_batch=10, concurrency=1)
    first = asyncio.create_task(group(0))  # holds the only slot for 10 ms: the next three gather meanwhile
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(group(i)) for i in (1, 2, 3)]
    await first
    await asyncio.sleep(0.01)  # the batch [1, 2, 3], stored by item 1's caller, hangs
    waiting[0].cancel()

    results = await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), timeout=2)

    assert isinstance(results[0], asyncio.CancelledError)
    assert all(isinstance(r, BatchAbandonedError) for r in results[1:]), "redelivered later, not stuck"
