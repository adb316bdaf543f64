"""Retrying HTTP calls to external providers: 429, 5xx and timeouts are retried with backoff and jitter.

A `Retry-After` header (seconds or an HTTP date) is honoured when the provider sends one. Anything else (4xx) is
returned to the caller at once: retrying a request the provider rejected cannot help.
"""

from __future__ import annotations

import email.utils
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504, 529})


class RetryableStatusError(Exception):
    """A response whose status says "try again later"."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.request.method} {response.request.url.host} answered {response.status_code}")
        self.response = response


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The delay a `Retry-After` header asks for, if any."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, (parsed - datetime.now(UTC)).total_seconds()) if parsed else None


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, RetryableStatusError | httpx.TimeoutException | httpx.TransportError)


class _Wait:
    """Exponential backoff with jitter, unless the provider said how long to wait."""

    def __init__(self, base: float, cap: float) -> None:
        self._backoff = wait_random_exponential(multiplier=base, max=cap)
        self._cap = cap

    def __call__(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetryableStatusError) and (asked := retry_after_seconds(error.response)) is not None:
            return min(asked, self._cap)
        return float(self._backoff(state))


async def send_with_retries(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    attempts: int = 5,
    base_delay: float = 0.5,
    max_delay: float = 30.0,
) -> httpx.Response:
    """Call `send` until it returns a non-retryable response; re-raises the last error when attempts run out."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(_is_retryable),
        wait=_Wait(base_delay, max_delay),
        stop=stop_after_attempt(attempts),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            response = await send()
            if response.status_code in RETRY_STATUSES:
                raise RetryableStatusError(response)
            return response
    raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover
