"""A local fake of the Instantly API v2 (the parts Coldstream uses), with the documented shapes and limits.

It is strict where Instantly is: a bearer token is required, leads/add takes 1..1,000 leads whose custom variables
are scalars, and it answers 429 now and then (`flaky_429`) or above a request rate (`max_rps`). It also counts
what it was given, so tests and benchmarks can assert "zero duplicates" at the provider.

Run it from a test or a benchmark with `with serve(FakeInstantly(...)) as base_url: ...` (uvicorn, free port).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

MAX_LEADS = 1000


def _error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """Fastify-style errors, as Instantly returns them."""
    return JSONResponse({"statusCode": status, "error": error, "message": message}, status, headers=headers)


def _refusal(status: int, message: str) -> JSONResponse:
    """A refusal a test asked for (the `refuse_*` switches)."""
    names = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}
    return _error(status, names.get(status, "Refused"), message)


@dataclass
class FakeInstantly:
    """The fake's state and its Starlette app."""

    api_key: str = "test-key"
    flaky_429: float = 0.0  # probability of a spurious 429 on any request
    max_rps: float | None = None  # requests per second above which it answers 429 (Instantly's workspace limit)
    seed: int = 7
    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocklist: set[str] = field(default_factory=set)
    uploads: Counter[str] = field(default_factory=Counter)  # address -> times a lead was created for it
    requests: int = 0
    throttled: int = 0
    add_calls: int = 0
    # (status, message) to answer every campaign create with, e.g. (400, "invalid schedule"); None accepts them.
    refuse_campaign_create: tuple[int, str] | None = None
    create_calls: int = 0
    # (status, message) to answer campaign activate / pause with, keyed by the action, e.g. {"activate": (401, ...)}.
    refuse_campaign_action: dict[str, tuple[int, str]] = field(default_factory=dict)
    action_calls: Counter[str] = field(default_factory=Counter)  # "activate"/"pause" -> calls, refused ones too
    # (status, message) to answer block-list writes with, e.g. (403, "API key lacks the block_list scope").
    refuse_blocklist: tuple[int, str] | None = None
    block_calls: int = 0
    # (status, message) to answer leads/add with before looking at the body, e.g. (401, "Invalid API key").
    refuse_add_leads: tuple[int, str] | None = None
    _recent: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)  # noqa: S311 - reproducible test noise, not security
        self.app = Starlette(
            routes=[
                Route("/api/v2/campaigns", self._campaigns, methods=["GET", "POST"]),
                Route("/api/v2/campaigns/{cid}", self._campaign, methods=["GET"]),
                Route("/api/v2/campaigns/{cid}/{action:str}", self._campaign_action, methods=["POST"]),
                Route("/api/v2/leads/add", self._add_leads, methods=["POST"]),
                Route("/api/v2/leads/list", self._list_leads, methods=["POST"]),
                Route("/api/v2/block-lists-entries", self._block_one, methods=["GET", "POST"]),
                Route("/api/v2/block-lists-entries/bulk-create", self._block_many, methods=["POST"]),
            ]
        )
        self.app.add_middleware(_Gate, fake=self)

    def duplicates(self) -> dict[str, int]:
        """Addresses uploaded more than once (should always be empty)."""
        return {email: n for email, n in self.uploads.items() if n > 1}

    def gate(self, request: Request) -> JSONResponse | None:
        """Auth and rate limiting, before any handler."""
        with self._lock:
            self.requests += 1
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return _error(401, "Unauthorized", "Missing or invalid Authorization header")
            now = time.monotonic()
            if self.max_rps is not None:
                while self._recent and now - self._recent[0] >= 1.0:
                    self._recent.popleft()
                if len(self._recent) >= self.max_rps:
                    self.throttled += 1
                    return _error(429, "Too Many Requests", "Rate limit exceeded", {"retry-after": "1"})
                self._recent.append(now)
            if self.flaky_429 and self._random.random() < self.flaky_429:
                self.throttled += 1
                return _error(429, "Too Many Requests", "Rate limit exceeded")
        return None

    async def _campaigns(self, request: Request) -> JSONResponse:
        if request.method == "GET":
            search = request.query_params.get("search", "")
            items = [c for c in self.campaigns.values() if search in c["name"]]
            return JSONResponse({"items": items[: int(request.query_params.get("limit", 100))]})
        body = await request.json()
        self.create_calls += 1
        if self.refuse_campaign_create is not None:
            status, message = self.refuse_campaign_create
            return _refusal(status, message)
        if not body.get("name"):
            return _error(400, "Bad Request", "body must have required property 'name'")
        if not (body.get("campaign_schedule") or {}).get("schedules"):
            return _error(400, "Bad Request", "body/campaign_schedule must have required property 'schedules'")
        campaign = {**body, "id": str(uuid.uuid4()), "status": 0}
        self.campaigns[campaign["id"]] = campaign
        return JSONResponse(campaign)

    async def _campaign(self, request: Request) -> JSONResponse:
        campaign = self.campaigns.get(request.path_params["cid"])
        return JSONResponse(campaign) if campaign else _error(404, "Not Found", "Campaign not found")

    async def _campaign_action(self, request: Request) -> JSONResponse:
        campaign = self.campaigns.get(request.path_params["cid"])
        action = request.path_params["action"]
        self.action_calls[action] += 1
        if action in self.refuse_campaign_action:
            return _refusal(*self.refuse_campaign_action[action])
        if campaign is None or action not in ("activate", "pause"):
            return _error(404, "Not Found", "Campaign not found")
        campaign["status"] = 1 if action == "activate" else 2
        return JSONResponse(campaign)

    async def _add_leads(self, request: Request) -> JSONResponse:
        if self.refuse_add_leads is not None:
            return _refusal(*self.refuse_add_leads)
        body = await request.json()
        leads = body.get("leads")
        if not isinstance(leads, list) or not 1 <= len(leads) <= MAX_LEADS:
            return _error(400, "Bad Request", f"body/leads must have 1 to {MAX_LEADS} items")
        if bool(body.get("campaign_id")) == bool(body.get("list_id")):
            return _error(400, "Bad Request", "exactly one of campaign_id or list_id is required")
        if body.get("campaign_id") and body["campaign_id"] not in self.campaigns:
            return _error(404, "Not Found", "Campaign not found")
        for index, lead in enumerate(leads):
            if not isinstance(lead, dict) or not lead.get("email"):
                return _error(400, "Bad Request", f"body/leads/{index} must have required property 'email'")
            for key, value in (lead.get("custom_variables") or {}).items():
                if value is not None and not isinstance(value, str | int | float | bool):
                    return _error(
                        400,
                        "Bad Request",
                        f"body/leads/{index}/custom_variables/{key} must be string, number, boolean or null",
                    )
        return JSONResponse(self._store_leads(body, leads))

    def _store_leads(self, body: dict[str, Any], leads: list[dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            self.add_calls += 1
            created, blocked, skipped = [], 0, 0
            # `uploads` counts every stored lead's address (both are written together below): no scan per call.
            in_workspace = self.uploads
            for index, lead in enumerate(leads):
                email = lead["email"].strip().lower()
                if email in self.blocklist or email.rpartition("@")[2] in self.blocklist:
                    blocked += 1
                    continue
                if body.get("skip_if_in_workspace") and email in in_workspace:
                    skipped += 1
                    continue
                lead_id = str(uuid.uuid4())
                self.leads[lead_id] = {**lead, "id": lead_id, "email": email, "campaign": body.get("campaign_id")}
                self.uploads[email] += 1
                created.append({"id": lead_id, "email": email, "index": index})
        return {
            "status": "success",
            "total_sent": len(leads),
            "leads_uploaded": len(created),
            "in_blocklist": blocked,
            "blocklist_used": "default",
            "duplicated_leads": 0,
            "skipped_count": skipped,
            "invalid_email_count": 0,
            "incomplete_count": 0,
            "duplicate_email_count": 0,
            "remaining_in_plan": 100_000 - len(self.leads),
            "created_leads": created,
        }

    async def _list_leads(self, request: Request) -> JSONResponse:
        body = await request.json()
        search = str(body.get("search") or "").lower()
        items = [
            lead
            for lead in self.leads.values()
            if (not body.get("campaign") or lead["campaign"] == body["campaign"]) and search in lead["email"]
        ]
        return JSONResponse({"items": items[: int(body.get("limit") or 100)], "next_starting_after": None})

    def _entry(self, value: str) -> dict[str, Any]:
        value = value.strip().lower()
        self.blocklist.add(value)
        return {"id": str(uuid.uuid4()), "bl_value": value, "is_domain": "@" not in value}

    async def _block_one(self, request: Request) -> JSONResponse:
        if request.method == "GET":
            return JSONResponse({"items": [{"bl_value": v} for v in sorted(self.blocklist)]})
        self.block_calls += 1
        if self.refuse_blocklist is not None:
            return _refusal(*self.refuse_blocklist)
        body = await request.json()
        if not body.get("bl_value"):
            return _error(400, "Bad Request", "body must have required property 'bl_value'")
        return JSONResponse(self._entry(body["bl_value"]))

    async def _block_many(self, request: Request) -> JSONResponse:
        self.block_calls += 1
        if self.refuse_blocklist is not None:
            return _refusal(*self.refuse_blocklist)
        body = await request.json()
        values = body.get("bl_values")
        if not isinstance(values, list) or not values:
            return _error(400, "Bad Request", "body must have required property 'bl_values'")
        return JSONResponse([self._entry(str(value)) for value in values])


class _Gate:
    """ASGI middleware: the fake's auth and rate limits."""

    def __init__(self, app: Any, fake: FakeInstantly) -> None:
        self._app = app
        self._fake = fake

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and (refusal := self._fake.gate(Request(scope))) is not None:
            await refusal(scope, receive, send)
            return
        await self._app(scope, receive, send)


@contextmanager
def serve(fake: FakeInstantly, port: int = 0) -> Iterator[str]:
    """Run the fake with uvicorn in a background thread; yields its base URL."""
    config = uvicorn.Config(fake.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fake-instantly", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake Instantly did not start")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
