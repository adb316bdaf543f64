"""A thin client for the Instantly API v2 calls sending makes, behind one workspace-wide rate limiter.

Instantly limits the *workspace* (all keys, v1 and v2 together) to 100 requests/s and 6,000/min, so every call in
this process goes through the same two buckets. 429 and 5xx are retried with backoff (Retry-After honoured).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from coldstream_shared.errors import TransientError
from coldstream_shared.http import RetryableStatusError, send_with_retries
from coldstream_shared.resilience import AsyncLimiter

BASE_URL = "https://api.instantly.ai"
MAX_LEADS_PER_CALL = 1000
CONNECTIONS = 64
WINDOW = 1.05  # seconds: Instantly's one, plus a margin for the requests' jitter on the way
BURSTS = 5  # a stall is made up in fifths of the window at most (SlidingWindow's `burst`)


class InstantlyRejectedError(Exception):
    """Instantly answered 4xx: the request itself is wrong, so repeating it cannot help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Instantly refused the request ({status}): {message}")
        self.status = status


class SlidingWindow:
    """At most `limit` acquisitions within any `period` seconds, the rule Instantly (and the fake) enforce.

    A leaky bucket of one request every 1/rate seconds lost the budget of every moment the process was not
    scheduled (a loaded machine, a long loop tick: 29% of it in a benchmark with one lead per call), and a deeper
    bucket bursts above the limit (a 100-deep one allows ~200 requests in some one-second window, answered 429).
    This one makes up for a stall without ever holding more than `limit` in a window. `period` carries a small
    margin, so the requests' own jitter on the way does not push a window at Instantly over the limit.

    `burst` (limit, period) caps how much of a stall is made up at once: a whole second's requests sent together
    reach Instantly spread over the time it takes to answer them, and the tail of one burst and the head of the
    next then shared a window there (5-6 % of requests answered 429 in the benchmark).
    """

    def __init__(self, limit: int, period: float = 1.0, *, burst: tuple[int, float] | None = None) -> None:
        self._rules = [(limit, period, deque[float]())]
        if burst is not None:
            self._rules.append((burst[0], burst[1], deque[float]()))
        self._turn = asyncio.Lock()  # waiters go in arrival order

    async def acquire(self) -> None:
        async with self._turn:
            loop = asyncio.get_running_loop()
            while True:
                now = loop.time()
                wait = 0.0
                for limit, period, sent in self._rules:
                    while sent and now - sent[0] >= period:
                        sent.popleft()
                    if len(sent) >= limit:
                        wait = max(wait, period - (now - sent[0]))
                if wait <= 0:
                    for _, _, sent in self._rules:
                        sent.append(now)
                    return
                await asyncio.sleep(wait)


def smooth(per_second: float) -> SlidingWindow:
    """The per-second limit (the name is older than the sliding window)."""
    limit = max(1, int(per_second))
    return SlidingWindow(limit, WINDOW, burst=(max(1, limit // BURSTS), WINDOW / BURSTS))


@dataclass
class WorkspaceLimiter:
    """Both of Instantly's workspace limits; one instance per workspace and process."""

    per_second: SlidingWindow | AsyncLimiter = field(default_factory=lambda: smooth(100))
    per_minute: AsyncLimiter = field(default_factory=lambda: AsyncLimiter(6000, 60))

    async def __aenter__(self) -> None:
        await self.per_minute.acquire()
        await self.per_second.acquire()

    async def __aexit__(self, *exc: object) -> None:
        return None


class InstantlyClient:
    """The calls sending needs: campaigns, leads, block list."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = BASE_URL,
        limiter: WorkspaceLimiter | None = None,
        http: httpx.AsyncClient | None = None,
        attempts: int = 6,
        base_delay: float = 0.2,
    ) -> None:
        self._http = http or httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(30.0),
            headers={"Authorization": f"Bearer {api_key}"},
            # httpcore checks every pooled connection for each request it assigns: with its default of 100 that
            # check was the client's largest CPU cost. Fewer than ~100 requests/s x the answer time starve the
            # limiter (16 held a loaded machine at 69 requests/s).
            limits=httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS),
        )
        self.limiter = limiter or WorkspaceLimiter()
        self._attempts = attempts
        self._base_delay = base_delay

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        async def once() -> httpx.Response:
            async with self.limiter:  # every attempt, retries included, counts against the workspace limit
                return await self._http.request(method, path, **kwargs)

        try:
            response = await send_with_retries(once, attempts=self._attempts, base_delay=self._base_delay)
        except RetryableStatusError as error:
            raise TransientError(f"Instantly kept answering {error.response.status_code}") from error
        except httpx.HTTPError as error:
            raise TransientError(f"Instantly unreachable: {type(error).__name__}") from error
        if response.status_code >= 400:
            try:
                message = str(response.json().get("message") or response.json().get("error"))
            except ValueError:
                message = response.text[:200]
            raise InstantlyRejectedError(response.status_code, message)
        return response.json() if response.content else {}

    async def find_campaign(self, name: str) -> dict[str, Any] | None:
        """Our campaign by its exact name (a campaign created before a crash is found, not created twice)."""
        page = await self._call("GET", "/api/v2/campaigns", params={"search": name, "limit": 100})
        return next((c for c in page.get("items", []) if c.get("name") == name), None)

    async def create_campaign(self, payload: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._call("POST", "/api/v2/campaigns", json=payload))

    async def activate(self, instantly_id: str) -> None:
        await self._call("POST", f"/api/v2/campaigns/{instantly_id}/activate")

    async def pause(self, instantly_id: str) -> None:
        await self._call("POST", f"/api/v2/campaigns/{instantly_id}/pause")

    async def add_leads(self, instantly_id: str, leads: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """POST /leads/add; leads already anywhere in the workspace are skipped (never a second copy)."""
        if not 1 <= len(leads) <= MAX_LEADS_PER_CALL:
            raise ValueError(f"leads/add takes 1..{MAX_LEADS_PER_CALL} leads, not {len(leads)}")
        body = {"campaign_id": instantly_id, "skip_if_in_workspace": True, "leads": list(leads)}
        return dict(await self._call("POST", "/api/v2/leads/add", json=body))

    async def find_lead(self, instantly_id: str, email: str) -> dict[str, Any] | None:
        """The lead with this address in this campaign, or None."""
        page = await self._call(
            "POST", "/api/v2/leads/list", json={"campaign": instantly_id, "search": email, "limit": 10}
        )
        wanted = email.strip().lower()
        return next((lead for lead in page.get("items", []) if str(lead.get("email", "")).lower() == wanted), None)

    async def block(self, values: Sequence[str]) -> int:
        """Add addresses or domains to the workspace block list; returns how many entries Instantly reports."""
        created = await self._call("POST", "/api/v2/block-lists-entries/bulk-create", json={"bl_values": list(values)})
        return len(created) if isinstance(created, list) else len(created.get("items", []))
