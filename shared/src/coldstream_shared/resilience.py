"""Per-dependency resilience: a circuit breaker and rate limiters, shared by every adapter that calls out.

Rate limiting comes from aiolimiter (a leaky bucket); retries from tenacity (see `http.py`). The breaker is ours:
it is a few lines, and callers need to *skip* a dead dependency (try the next provider, the next inbox) rather
than wrap every call in a library decorator that raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from aiolimiter import AsyncLimiter

__all__ = ["AsyncLimiter", "BreakerOpenError", "CircuitBreaker", "Limits"]

State = Literal["closed", "open", "half_open"]


class BreakerOpenError(Exception):
    """The dependency failed repeatedly; it is skipped until the cool-down ends."""

    def __init__(self, name: str, retry_in: float) -> None:
        super().__init__(f"{name}: circuit open, next try in {retry_in:.1f}s")
        self.name = name
        self.retry_in = retry_in


@dataclass
class CircuitBreaker:
    """Opens after `failure_threshold` consecutive failures; after `reset_after` seconds one trial call is let
    through (half-open): success closes it, failure opens it again for another `reset_after`."""

    name: str
    failure_threshold: int = 5
    reset_after: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _failures: int = field(default=0, init=False)
    _opened_at: float | None = field(default=None, init=False)
    _trial_running: bool = field(default=False, init=False)

    @property
    def state(self) -> State:
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at >= self.reset_after:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Whether a call may go out now. In half-open state only one trial call is allowed at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def check(self) -> None:
        """`allow()`, raising `BreakerOpenError` when the answer is no."""
        if not self.allow():
            opened = self._opened_at if self._opened_at is not None else self.clock()
            raise BreakerOpenError(self.name, max(0.0, self.reset_after - (self.clock() - opened)))

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_running = False

    def record_failure(self) -> None:
        self._trial_running = False
        self._failures += 1
        if self._opened_at is not None or self._failures >= self.failure_threshold:
            self._opened_at = self.clock()


@dataclass(frozen=True)
class Limits:
    """Requests per period for one dependency, turned into a limiter."""

    requests: float
    per_seconds: float = 1.0

    def limiter(self) -> AsyncLimiter:
        return AsyncLimiter(self.requests, self.per_seconds)
