"""A local fake of the Instantly API v2 endpoints the replies service calls (tests, benchmarks, chaos run).

- `GET /api/v2/emails`: cursor pagination (`limit`, `starting_after`, `sort_order`), `{"items", "next_starting_after"}`;
  the documented 20 requests/minute limit is enforced (429 with the Fastify-style error body) unless disabled.
- `GET /api/v2/webhooks`, `POST /api/v2/webhooks/{id}/resume` (sets `status` back to 1).
- `POST /api/v2/leads/update-interest-status`: 202 `{"message": ...}`; 400 `{"error": "Invalid lead email"}`.

Every endpoint wants `Authorization: Bearer <key>` (401 otherwise). `fail_next(status)` injects failures.
Sending's campaign/lead/blocklist endpoints live in `fakes/instantly.py`.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from coldstream.fakes.served import Served

EMAILS_PER_MINUTE = 20
INTEREST_ACCEPTED = {"message": "Lead interest status update background job submitted"}


@dataclass
class _Failure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"statusCode": status, "error": error, "message": message}
    return JSONResponse(body, status_code=status, headers=headers)


class FakeChatWebhook(Served):
    """A Slack-compatible incoming webhook: records each `{"text": ...}`; `fail_next` answers 500s first."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.failures = 0
        self.app = Starlette(routes=[Route("/hook", self._post, methods=["POST"])])

    @property
    def url(self) -> str:
        return f"{self.base_url}/hook"

    def fail_next(self, times: int = 1) -> None:
        self.failures += times

    async def _post(self, request: Request) -> JSONResponse:
        if self.failures:
            self.failures -= 1
            return JSONResponse({"ok": False, "error": "fake outage"}, status_code=500)
        body = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            return JSONResponse({"ok": False, "error": "invalid_payload"}, status_code=400)
        self.messages.append(body)
        return JSONResponse({"ok": True})


class FakeInstantlyInbox(Served):
    """`async with FakeInstantlyInbox(api_key="k") as fake:` serves on a free loopback port (`fake.base_url`)."""

    def __init__(self, *, api_key: str = "test-instantly-key", emails_per_minute: int | None = EMAILS_PER_MINUTE):
        self.api_key = api_key
        self.emails_per_minute = emails_per_minute
        self.emails: list[dict[str, Any]] = []
        self.webhooks: list[dict[str, Any]] = []
        self.interest_updates: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []  # (method, path with query)
        self._email_calls: deque[float] = deque()
        self._failures: deque[_Failure] = deque()
        self._ids = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/api/v2/emails", self._list_emails, methods=["GET"]),
                Route("/api/v2/webhooks", self._list_webhooks, methods=["GET"]),
                Route("/api/v2/webhooks/{webhook_id}/resume", self._resume, methods=["POST"]),
                Route("/api/v2/leads/update-interest-status", self._interest, methods=["POST"]),
            ]
        )

    # -- test helpers ---------------------------------------------------------------------------------------

    def fail_next(self, status: int, headers: dict[str, str] | None = None, *, times: int = 1) -> None:
        """Answer the next `times` requests (any endpoint) with `status`, e.g. 429 with {'retry-after': '1'}."""
        self._failures.extend(_Failure(status, dict(headers or {})) for _ in range(times))

    def add_reply(
        self, lead_email: str, text: str, *, eaccount: str = "sender@ours.test", **fields: Any
    ) -> dict[str, Any]:
        """A received email as the list endpoint returns it (ids grow, so `starting_after` works)."""
        email = {
            "id": f"{next(self._ids):08d}-{uuid.uuid4().hex[:12]}",
            "timestamp_created": datetime.now(UTC).isoformat(),
            "timestamp_email": datetime.now(UTC).isoformat(),
            "message_id": f"<{uuid.uuid4().hex}@mail.test>",
            "subject": "Re: our idea",
            "from_address_email": lead_email,
            "to_address_email_list": eaccount,
            "eaccount": eaccount,
            "lead": lead_email,
            "body": {"text": text, "html": f"<div>{text}</div>"},
            "content_preview": text[:100],
            "ue_type": 2,
            "is_auto_reply": 0,
            "thread_id": uuid.uuid4().hex,
            **fields,
        }
        self.emails.append(email)
        return email

    def add_sent(self, lead_email: str, *, eaccount: str = "sender@ours.test") -> dict[str, Any]:
        """An email we sent (the poll must skip it)."""
        return self.add_reply(
            lead_email, "Hi there, a quick idea", eaccount=eaccount, from_address_email=eaccount, ue_type=1
        )

    def add_webhook(self, url: str, *, status: int = 1) -> dict[str, Any]:
        hook = {
            "id": str(uuid.uuid4()),
            "organization": "org-test",
            "target_hook_url": url,
            "timestamp_created": datetime.now(UTC).isoformat(),
            "campaign": None,
            "name": "replies",
            "event_type": "all_events",
            "headers": {"X-Webhook-Secret": "***"},
            "status": status,
            "timestamp_error": None if status == 1 else datetime.now(UTC).isoformat(),
        }
        self.webhooks.append(hook)
        return hook

    # -- endpoints ----------------------------------------------------------------------------------------------

    def _refuse(self, request: Request) -> JSONResponse | None:
        query = f"?{request.url.query}" if request.url.query else ""
        self.requests.append((request.method, request.url.path + query))
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Unauthorized", "Missing Authorization header")
        if self._failures:
            failure = self._failures.popleft()
            return _error(failure.status, "Injected", f"fake {failure.status}", failure.headers)
        return None

    async def _list_emails(self, request: Request) -> JSONResponse:
        if refused := self._refuse(request):
            return refused
        if self.emails_per_minute is not None:
            now = time.monotonic()
            while self._email_calls and now - self._email_calls[0] >= 60:
                self._email_calls.popleft()
            if len(self._email_calls) >= self.emails_per_minute:
                return _error(429, "Too Many Requests", "Rate limit exceeded", {"retry-after": "60"})
            self._email_calls.append(now)
        query = request.query_params
        items = sorted(self.emails, key=lambda e: e["id"], reverse=query.get("sort_order", "desc") == "desc")
        if query.get("email_type") == "received":
            items = [e for e in items if e["from_address_email"] != e["eaccount"]]
        return JSONResponse(_page(items, query.get("starting_after"), int(query.get("limit", "10"))))

    async def _list_webhooks(self, request: Request) -> JSONResponse:
        if refused := self._refuse(request):
            return refused
        query = request.query_params
        return JSONResponse(_page(self.webhooks, query.get("starting_after"), int(query.get("limit", "10"))))

    async def _resume(self, request: Request) -> JSONResponse:
        if refused := self._refuse(request):
            return refused
        for hook in self.webhooks:
            if hook["id"] == request.path_params["webhook_id"]:
                hook["status"], hook["timestamp_error"] = 1, None
                return JSONResponse(hook)
        return _error(404, "Not Found", "Webhook not found")

    async def _interest(self, request: Request) -> JSONResponse:
        if refused := self._refuse(request):
            return refused
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "Bad Request", "body is not JSON")
        email = body.get("lead_email") if isinstance(body, dict) else None
        if not isinstance(email, str) or "@" not in email or "interest_value" not in body:
            return JSONResponse({"error": "Invalid lead email"}, status_code=400)
        self.interest_updates.append(body)
        return JSONResponse(INTEREST_ACCEPTED, status_code=202)


def _page(items: list[dict[str, Any]], starting_after: str | None, limit: int) -> dict[str, Any]:
    """Items after the one whose id is `starting_after` (in the list's order), at most `limit` (1-100)."""
    limit = max(1, min(limit, 100))
    start = 0
    if starting_after:
        ids = [item["id"] for item in items]
        start = ids.index(starting_after) + 1 if starting_after in ids else len(items)
    page = items[start : start + limit]
    more = start + limit < len(items)
    return {"items": page, "next_starting_after": page[-1]["id"] if page and more else None}
