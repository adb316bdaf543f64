"""People-search providers behind one interface, and a registry to add more.

A provider turns a campaign's ICP into pages of person records (plain dicts, mapped to lead fields like a JSONL
line). The first one is Apollo's documented People Search API:

    POST {base}/api/v1/mixed_people/search      header X-Api-Key: <key>
    {"person_titles": [...], "person_seniorities": [...], "person_locations": [...],
     "organization_num_employees_ranges": ["51,200"], "q_keywords": "...", "page": 1, "per_page": 100}
    -> {"people": [{"first_name", "last_name", "name", "title", "email", "linkedin_url", "city", "country",
                    "seniority", "departments": [...], "phone_numbers": [{"sanitized_number"}],
                    "organization": {"name", "primary_domain", "website_url", "industry",
                                     "estimated_num_employees"}}],
        "pagination": {"page", "per_page", "total_entries", "total_pages"}}

Calls go through the shared retry helper (429/5xx/timeouts with backoff, Retry-After honoured) and a rate
limiter. A 4xx, or an answer that is not that shape, is a ProviderError: the campaign stops with the message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from aiolimiter import AsyncLimiter

from coldstream_shared.campaign import Icp
from coldstream_shared.errors import TransientError
from coldstream_shared.http import RetryableStatusError, send_with_retries


class ProviderError(Exception):
    """The provider refused the query or answered something that is not its documented shape."""


@dataclass(frozen=True)
class Page:
    """One page of results: its number, the records as answered, and how many pages there are in all."""

    number: int
    records: list[Any]
    total_pages: int
    total_records: int | None = None


class PeopleSearch(Protocol):
    """A people-search provider."""

    name: str
    per_page: int

    def pages(self, icp: Icp, first_page: int = 1) -> AsyncIterator[Page]: ...


class ApolloPeopleSearch:
    """Apollo's People Search, page by page."""

    name = "apollo"

    def __init__(
        self, client: httpx.AsyncClient, api_key: str, *, limiter: AsyncLimiter, per_page: int = 100, attempts: int = 5
    ) -> None:
        self._client = client
        self._key = api_key
        self._limiter = limiter
        self.per_page = per_page
        self._attempts = attempts

    async def pages(self, icp: Icp, first_page: int = 1) -> AsyncIterator[Page]:
        number = first_page
        while True:
            page = await self._page(icp, number)
            yield page
            if number >= page.total_pages or not page.records:
                return
            number += 1

    async def _page(self, icp: Icp, number: int) -> Page:
        body: dict[str, Any] = {"page": number, "per_page": self.per_page}
        if icp.titles:
            body["person_titles"] = icp.titles
        if icp.seniority:
            body["person_seniorities"] = icp.seniority
        if icp.locations:
            body["person_locations"] = icp.locations
        if icp.company_size:
            body["organization_num_employees_ranges"] = [f"{icp.company_size[0]},{icp.company_size[1]}"]
        if icp.keywords:
            body["q_keywords"] = " ".join(icp.keywords)

        async def send() -> httpx.Response:
            async with self._limiter:
                return await self._client.post(
                    "/api/v1/mixed_people/search", json=body, headers={"X-Api-Key": self._key}
                )

        try:
            response = await send_with_retries(send, attempts=self._attempts)
        except (RetryableStatusError, httpx.TransportError, httpx.TimeoutException) as error:
            # Still failing after the retries: try the import again later (it resumes at this page).
            raise TransientError(f"apollo people search, page {number}: {error}", retry_after=60) from error
        if response.status_code >= 400:
            raise ProviderError(f"apollo refused the search ({response.status_code}): {response.text[:300]}")
        return _parse_page(response, number)


def _parse_page(response: httpx.Response, number: int) -> Page:
    try:
        answer = response.json()
    except ValueError as error:
        text = response.text[:200]
        raise ProviderError(f"apollo answered page {number} with something that is not JSON: {text!r}") from error
    people = answer.get("people") if isinstance(answer, dict) else None
    pagination = answer.get("pagination") if isinstance(answer, dict) else None
    if not isinstance(people, list) or not isinstance(pagination, dict):
        raise ProviderError(f"apollo answered page {number} without 'people' and 'pagination': {str(answer)[:200]}")
    total_pages = pagination.get("total_pages")
    total = pagination.get("total_entries")
    return Page(
        number,
        people,
        total_pages if isinstance(total_pages, int) else number,
        total if isinstance(total, int) else None,
    )


def flatten_person(record: dict[str, Any]) -> dict[str, str]:
    """An Apollo person as lead columns (what `columns.map_columns` understands)."""
    raw_organization = record.get("organization")
    organization: dict[str, Any] = raw_organization if isinstance(raw_organization, dict) else {}
    phones = record.get("phone_numbers") or []
    first_phone = phones[0] if phones and isinstance(phones[0], dict) else {}
    departments = record.get("departments") or []
    values = {
        "email": record.get("email"),
        "first_name": record.get("first_name"),
        "last_name": record.get("last_name"),
        "full_name": record.get("name"),
        "title": record.get("title"),
        "seniority": record.get("seniority"),
        "department": departments[0] if isinstance(departments, list) and departments else None,
        "linkedin_url": record.get("linkedin_url"),
        "city": record.get("city"),
        "country": record.get("country"),
        "phone": first_phone.get("sanitized_number"),
        "company": organization.get("name"),
        "company_domain": organization.get("primary_domain"),
        "website": organization.get("website_url"),
        "industry": organization.get("industry"),
        "company_size": organization.get("estimated_num_employees"),
        "provider_id": record.get("id"),
    }
    return {key: str(value) for key, value in values.items() if value not in (None, "")}


ProviderFactory = Callable[[httpx.AsyncClient], PeopleSearch | None]


class ProviderRegistry:
    """Provider name -> how to build it (None when it is not configured, e.g. no API key)."""

    def __init__(self) -> None:
        self._factories: dict[str, ProviderFactory] = {}
        self._clients: dict[str, httpx.AsyncClient] = {}

    def register(self, name: str, factory: ProviderFactory, client: httpx.AsyncClient) -> None:
        self._factories[name] = factory
        self._clients[name] = client

    def names(self) -> list[str]:
        return sorted(self._factories)

    def get(self, name: str) -> PeopleSearch:
        """The provider, or ProviderError naming what is missing."""
        if name not in self._factories:
            known = ", ".join(self.names()) or "none"
            raise ProviderError(f"unknown people-search provider {name!r} (registered: {known})")
        provider = self._factories[name](self._clients[name])
        if provider is None:
            raise ProviderError(f"people-search provider {name!r} is not configured (API key missing)")
        return provider

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
