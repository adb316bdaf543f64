"""The circuit breaker's state machine, on a fake clock."""

from __future__ import annotations

import pytest

from coldstream_shared.resilience import BreakerOpenError, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_threshold_and_half_opens_after_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker("provider", failure_threshold=3, reset_after=10, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state == "closed"
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    assert not breaker.allow()
    with pytest.raises(BreakerOpenError, match=r"next try in 10\.0s"):
        breaker.check()
    clock.now = 10
    assert breaker.state == "half_open"
    assert breaker.allow()
    assert not breaker.allow(), "only one trial call at a time"
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.allow()


def test_failed_trial_opens_again() -> None:
    clock = Clock()
    breaker = CircuitBreaker("inbox", failure_threshold=1, reset_after=5, clock=clock)
    breaker.record_failure()
    clock.now = 5
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now = 9
    assert not breaker.allow()
    clock.now = 10
    assert breaker.allow()
