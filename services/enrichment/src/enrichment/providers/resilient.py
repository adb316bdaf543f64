"""One paid provider's HTTP access: rate limit, retries (backoff, jitter, Retry-After) and a circuit breaker.

Adapters only build requests and parse documented bodies; everything about *how* a provider is called lives
here, so every provider gets the same failure semantics:

- `ProviderUnavailableError` (transient): 429/5xx/timeouts after retries, a malformed body, or an open breaker.
  The caller may skip to the next provider or redeliver the lead later (`retry_in` says when).
- `ProviderRejectedError` (permanent): a 4xx other than "not found"; retrying the same request cannot help.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

import httpx

from coldstream_shared.http import RetryableStatusError, retry_after_seconds, send_with_retries
from coldstream_shared.resilience import AsyncLimiter, BreakerOpenError, CircuitBreaker

T = TypeVar("T")
ACCOUNT_STATUSES = frozenset({401, 402, 403})


class ProviderUnavailableError(Exception):
    """The provider cannot answer now; try later (or another provider)."""

    def __init__(self, provider: str, detail: str, *, retry_in: float | None = None) -> None:
        super().__init__(f"{provider}: {detail}")
        self.provider = provider
        self.retry_in = retry_in


class ProviderRejectedError(Exception):
    """The provider refused this request for good (bad input, bad key)."""

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(f"{provider}: {detail}")
        self.provider = provider


class AccountError(Exception):
    """A parser's verdict on a 200 body that refuses *us* (bad key, no credits): counts against the breaker."""


class ResilientProvider:
    """JSON from one provider (GET, or POST for bulk endpoints) through its limiter, retries and breaker."""

    def __init__(
        self,
        name: str,
        client: httpx.AsyncClient,
        *,
        limiter: AsyncLimiter,
        breaker: CircuitBreaker,
        attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
    ) -> None:
        self.name = name
        self.breaker = breaker
        self._client = client
        self._limiter = limiter
        self._attempts, self._base_delay, self._max_delay = attempts, base_delay, max_delay

    async def get_json(
        self,
        url: str,
        parse: Callable[[Any], T],
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        not_found: Collection[int] = (),
    ) -> T | None:
        """The parsed body; None when the status is one of `not_found` (a miss, not a failure)."""
        return await self.request_json("GET", url, parse, params=params, headers=headers, not_found=not_found)

    async def post_json(
        self, url: str, parse: Callable[[Any], T], body: Any, *, headers: Mapping[str, str] | None = None
    ) -> T | None:
        """POST a JSON body (the bulk endpoints): one limiter slot, one retry sequence, one breaker outcome."""
        return await self.request_json("POST", url, parse, json=body, headers=headers)

    async def request_json(
        self,
        method: str,
        url: str,
        parse: Callable[[Any], T],
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        not_found: Collection[int] = (),
    ) -> T | None:
        try:
            self.breaker.check()
        except BreakerOpenError as error:
            raise ProviderUnavailableError(self.name, "circuit open", retry_in=error.retry_in) from error

        async def send() -> httpx.Response:
            async with self._limiter:
                return await self._client.request(method, url, params=params, json=json, headers=headers)

        try:
            response = await send_with_retries(
                send, attempts=self._attempts, base_delay=self._base_delay, max_delay=self._max_delay
            )
        except RetryableStatusError as error:
            self.breaker.record_failure()
            asked = retry_after_seconds(error.response)
            raise ProviderUnavailableError(
                self.name, f"answered {error.response.status_code}", retry_in=asked
            ) from error
        except httpx.HTTPError as error:  # timeouts and transport errors, after retries
            self.breaker.record_failure()
            raise ProviderUnavailableError(self.name, type(error).__name__) from error
        if response.status_code in not_found:
            self.breaker.record_success()
            return None
        if response.status_code in ACCOUNT_STATUSES:
            # A bad key or exhausted credits is about us, not the lead: never reject leads for it.
            self.breaker.record_failure()
            raise ProviderUnavailableError(
                self.name, f"answered {response.status_code} (check the API key and credits)"
            )
        if response.status_code >= 400:
            # The provider is alive and answered; only this request is wrong, so the breaker counts a success.
            self.breaker.record_success()
            raise ProviderRejectedError(self.name, f"answered {response.status_code}: {response.text[:200]}")
        try:
            parsed = parse(response.json())
        except AccountError as error:
            self.breaker.record_failure()
            raise ProviderUnavailableError(self.name, f"error: {error}") from error
        except (ValueError, KeyError, TypeError) as error:
            self.breaker.record_failure()
            raise ProviderUnavailableError(self.name, f"malformed response ({error})") from error
        self.breaker.record_success()
        return parsed


def build_provider(
    name: str,
    client: httpx.AsyncClient,
    *,
    rate_per_second: float,
    attempts: int,
    breaker_failures: int,
    breaker_reset: float,
) -> ResilientProvider:
    """A provider with its own limiter and breaker (one dead provider never slows another).

    Below one call a second (ZeroBounce's batch endpoint: 5 a minute) the limiter spaces single calls, since a
    bucket smaller than one call could never be taken."""
    limiter = AsyncLimiter(rate_per_second, 1.0) if rate_per_second >= 1 else AsyncLimiter(1, 1 / rate_per_second)
    return ResilientProvider(
        name,
        client,
        limiter=limiter,
        breaker=CircuitBreaker(name, failure_threshold=breaker_failures, reset_after=breaker_reset),
        attempts=attempts,
    )
