"""The Instantly request window, on a fake clock: never more than the limit in any window, stalls made up in bursts."""

from __future__ import annotations

import asyncio

import pytest

from sending.instantly import client
from sending.instantly.client import SlidingWindow


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # Never less than a microsecond: a float remainder of 1e-17 would leave the fake clock where it is.
        self.now += max(seconds, 1e-6)


@pytest.fixture
async def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(asyncio.get_running_loop(), "time", fake.time)
    monkeypatch.setattr(client.asyncio, "sleep", fake.sleep)
    return fake


def most_within(times: list[float], period: float) -> int:
    return max(sum(1 for t in times if start <= t < start + period) for start in times)


async def acquire_times(window: SlidingWindow, clock: Clock, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        await window.acquire()
        times.append(clock.now)
    return times


async def test_no_window_ever_holds_more_than_its_limit_and_bursts_stay_small(clock: Clock) -> None:
    times = await acquire_times(SlidingWindow(10, 0.2, burst=(2, 0.04)), clock, 30)

    assert most_within(times, 0.2) <= 10
    assert most_within(times, 0.04) <= 2
    assert times[-1] < 0.2 * 3, "still the full rate: 30 requests in three windows"


async def test_without_a_burst_rule_a_stall_is_made_up_at_once(clock: Clock) -> None:
    times = await acquire_times(SlidingWindow(10, 0.2), clock, 20)

    assert times[:10] == [0.0] * 10
    assert most_within(times, 0.2) <= 10
