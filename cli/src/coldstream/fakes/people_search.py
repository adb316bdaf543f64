"""A fake Apollo People Search API with its documented shapes, for tests and benchmarks.

`POST /api/v1/mixed_people/search` with `X-Api-Key` and a JSON body (`page`, `per_page`, filters) answers
`{"people": [...], "pagination": {"page", "per_page", "total_entries", "total_pages"}}` from `people`.
`fail_next` queues misbehaviour for the next calls: a status (429 with Retry-After, 500, 401), or a raw body
(garbage: HTML, a JSON list, a page whose records are not objects).

    async with FakeApollo(people, api_key="k") as fake:
        settings = DiscoverySettings(apollo_base_url=fake.base_url, apollo_api_key="k", ...)
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from coldstream.fakes.served import Served


@dataclass(frozen=True)
class Misbehaviour:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None  # sent as-is (content type application/json, whatever it holds)


def person(i: int, domain: str = "acme.io") -> dict[str, Any]:
    """One person record as Apollo returns it."""
    return {
        "id": f"p{i}",
        "first_name": f"First{i}",
        "last_name": f"Last{i}",
        "name": f"First{i} Last{i}",
        "title": "Head of Growth",
        "seniority": "head",
        "departments": ["marketing"],
        "email": f"person{i}@{domain}",
        "linkedin_url": f"http://www.linkedin.com/in/person-{i}",
        "city": "Berlin",
        "country": "Germany",
        "phone_numbers": [{"sanitized_number": "+4930123456"}],
        "organization": {
            "name": "Acme",
            "primary_domain": domain,
            "website_url": f"http://www.{domain}",
            "industry": "SaaS",
            "estimated_num_employees": 120,
        },
    }


class FakeApollo(Served):
    """Serves on a free loopback port inside `async with`."""

    def __init__(self, people: list[Any], *, api_key: str = "test-key") -> None:
        self.people = people
        self.api_key = api_key
        self.requests: list[dict[str, Any]] = []
        self._queue: deque[Misbehaviour] = deque()
        self.app = Starlette(routes=[Route("/api/v1/mixed_people/search", self._search, methods=["POST"])])

    def fail_next(self, status: int = 200, *, headers: dict[str, str] | None = None, body: str | None = None) -> None:
        self._queue.append(Misbehaviour(status, dict(headers or {}), body))

    async def _search(self, request: Request) -> Response:
        if request.headers.get("x-api-key") != self.api_key:
            return JSONResponse({"error": "Invalid access credentials."}, status_code=401)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=422)
        self.requests.append(body)
        if self._queue:
            fault = self._queue.popleft()
            if fault.body is not None or fault.status != 200:
                content = fault.body if fault.body is not None else '{"error": "scripted"}'
                return Response(content, status_code=fault.status, headers=fault.headers, media_type="application/json")
        page, per_page = int(body.get("page", 1)), min(int(body.get("per_page", 25)), 100)
        start = (page - 1) * per_page
        total_pages = max(1, math.ceil(len(self.people) / per_page))
        pagination = {"page": page, "per_page": per_page, "total_entries": len(self.people), "total_pages": total_pages}
        return JSONResponse({"people": self.people[start : start + per_page], "pagination": pagination})
