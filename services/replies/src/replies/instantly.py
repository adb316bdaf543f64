"""Adapter: the Instantly API v2 endpoints replies uses (emails list, webhooks list/resume, interest status).

Limits: the workspace allows 100 requests/s overall and `GET /api/v2/emails` only 20 requests/minute, so each
has its own aiolimiter bucket; 429/5xx/timeouts are retried by the shared helper (honouring Retry-After).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from coldstream_shared.http import send_with_retries
from coldstream_shared.resilience import AsyncLimiter

EMAILS_PER_MINUTE = 20
REQUESTS_PER_SECOND = 100


class InstantlyError(Exception):
    """Instantly refused a request (a 4xx other than 429): retrying cannot help."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"Instantly answered {status}: {body[:300]}")
        self.status = status


@dataclass(frozen=True)
class Page:
    """One page of a cursor-paginated list."""

    items: list[dict[str, Any]]
    next_starting_after: str | None


class InstantlyClient:
    """Thin typed calls; one `httpx.AsyncClient` per service."""

    def __init__(
        self,
        api_key: str,
        base_url: str = "https://api.instantly.ai",
        *,
        emails_limiter: AsyncLimiter | None = None,
        base_delay: float = 0.5,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers={"Authorization": f"Bearer {api_key}"}, timeout=30.0
        )
        self._emails = emails_limiter or AsyncLimiter(EMAILS_PER_MINUTE, 60)
        self._all = AsyncLimiter(REQUESTS_PER_SECOND, 1)
        self._base_delay = base_delay

    async def close(self) -> None:
        await self._http.aclose()

    async def list_emails(self, starting_after: str | None, limit: int = 100) -> Page:
        """Emails oldest first after the cursor; `email_type=received` narrows to replies where supported."""
        params: dict[str, Any] = {"limit": limit, "sort_order": "asc", "email_type": "received"}
        if starting_after:
            params["starting_after"] = starting_after
        return _page(await self._call("GET", "/api/v2/emails", params=params, bucket=self._emails))

    async def list_webhooks(self, starting_after: str | None = None) -> Page:
        params: dict[str, Any] = {"limit": 100}
        if starting_after:
            params["starting_after"] = starting_after
        return _page(await self._call("GET", "/api/v2/webhooks", params=params))

    async def resume_webhook(self, webhook_id: str) -> dict[str, Any]:
        return await self._call("POST", f"/api/v2/webhooks/{webhook_id}/resume")

    async def update_interest_status(
        self, lead_email: str, interest_value: int | None, campaign_id: str | None = None
    ) -> dict[str, Any]:
        """Documented 202: Instantly applies it in a background job."""
        body: dict[str, Any] = {"lead_email": lead_email, "interest_value": interest_value}
        if campaign_id:
            body["campaign_id"] = campaign_id
        return await self._call("POST", "/api/v2/leads/update-interest-status", json=body)

    async def _call(
        self, method: str, path: str, *, bucket: AsyncLimiter | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        async def send() -> httpx.Response:
            # Every attempt, retries included, takes a token: a retry storm cannot exceed the limits.
            if bucket is not None:
                await bucket.acquire()
            async with self._all:
                return await self._http.request(method, path, **kwargs)

        response = await send_with_retries(send, attempts=4, base_delay=self._base_delay)
        if response.status_code >= 400:
            raise InstantlyError(response.status_code, response.text)
        try:
            body = response.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {"items": body}


def _page(body: dict[str, Any]) -> Page:
    items = body.get("items")
    cursor = body.get("next_starting_after")
    return Page(
        [item for item in items if isinstance(item, dict)] if isinstance(items, list) else [],
        cursor if isinstance(cursor, str) and cursor else None,
    )
