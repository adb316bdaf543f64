"""Client-side limits for the model API: concurrent calls, requests per minute and tokens per minute.

Staying under the provider's limits is cheaper than meeting its 429s. The request limiter is a leaky bucket that
holds one second's worth of requests (aiolimiter), so over any minute it lets through at most the configured
rate plus one second's burst, and it paces evenly rather than spending the minute's budget at once. The token
limiter holds a minute's worth, because one call's tokens can exceed a second's share.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from coldstream_shared.resilience import AsyncLimiter


@dataclass(frozen=True)
class ModelLimits:
    """The configured ceilings (0 or None disables a limit)."""

    concurrency: int = 32
    requests_per_minute: float | None = 50.0
    tokens_per_minute: float | None = None


class ModelGate:
    """`async with gate.call(tokens):` waits for a free slot, a request and the tokens, then lets a call out."""

    def __init__(self, limits: ModelLimits) -> None:
        self.limits = limits
        self._slots = asyncio.Semaphore(max(1, limits.concurrency))
        rpm = limits.requests_per_minute
        if rpm:
            burst = max(1.0, rpm / 60)  # one second's worth, at least one request
            self._requests: AsyncLimiter | None = AsyncLimiter(burst, burst * 60 / rpm)
        else:
            self._requests = None
        tpm = limits.tokens_per_minute
        self._tokens = AsyncLimiter(tpm, 60) if tpm else None

    @asynccontextmanager
    async def call(self, estimated_tokens: int) -> AsyncIterator[None]:
        """Hold a concurrency slot for the duration of the call; the rate limits are taken on the way in."""
        async with self._slots:
            if self._tokens is not None:
                # Never ask for more than the bucket holds, or aiolimiter refuses: a huge call waits for a full one.
                await self._tokens.acquire(min(float(estimated_tokens), self._tokens.max_rate))
            if self._requests is not None:
                await self._requests.acquire()
            yield
