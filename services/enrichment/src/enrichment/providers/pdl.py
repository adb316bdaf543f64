"""People Data Labs enrichment (https://docs.peopledatalabs.com): person (`GET /v5/person/enrich`) and company
(`GET /v5/company/enrich`). Both take the key in `X-Api-Key` and answer 404 when there is no match (not billed).

Bulk person enrichment (https://docs.peopledatalabs.com/docs/bulk-enrichment-api): `POST /v5/person/bulk` with
`{"requests": [{"metadata": {...}, "params": {...}}]}`, 1-100 requests, "the same as calling the Person
Enrichment API multiple times"; it answers a JSON array, in request order, of `{"status", "data", "likelihood",
"metadata"}` (metadata echoed), each status what the single call would have answered (404 = no match).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from enrichment.providers.batching import MicroBatcher
from enrichment.providers.resilient import (
    ACCOUNT_STATUSES,
    ProviderRejectedError,
    ProviderUnavailableError,
    ResilientProvider,
)


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def parse_person(body: Any) -> dict[str, Any] | None:
    data = body["data"]
    if not isinstance(data, dict):
        raise TypeError("data is not an object")
    levels = data.get("job_title_levels") or []
    fields = {
        "title": _str(data.get("job_title")),
        "seniority": _str(levels[0]) if levels else None,
        "linkedin_url": _str(data.get("linkedin_url")),
        "full_name": _str(data.get("full_name")),
        "country": _str(data.get("location_country")),
    }
    return {k: v for k, v in fields.items() if v is not None} or None


def parse_company(body: Any) -> dict[str, Any] | None:
    if not isinstance(body, dict) or body.get("status") != 200:
        raise ValueError("no status 200 in body")
    fields = {
        "company_name": _str(body.get("display_name") or body.get("name")),
        "company_size": int(body["employee_count"]) if body.get("employee_count") is not None else None,
        "size_range": _str(body.get("size")),
        "revenue_range": _str(body.get("inferred_revenue")),
        "founded_year": int(body["founded"]) if body.get("founded") is not None else None,
        "industry": _str(body.get("industry")),
        "tags": ", ".join(str(t) for t in body.get("tags") or []) or None,
    }
    return {k: v for k, v in fields.items() if v is not None} or None


class PdlPerson:
    """Person data (title, seniority, LinkedIn) from an email address."""

    name = "pdl"

    def __init__(self, http: ResilientProvider, api_key: str, base_url: str, cost_usd: float) -> None:
        self._http, self._headers, self.cost_usd = http, {"X-Api-Key": api_key}, cost_usd
        self._url = f"{base_url.rstrip('/')}/v5/person/enrich"

    async def fetch(self, query: Mapping[str, Any]) -> dict[str, Any] | None:
        params = {"email": str(query["email"])}
        return await self._http.get_json(
            self._url, parse_person, params=params, headers=self._headers, not_found=(404,)
        )


class PdlCompany:
    """Firmographics (size, revenue range, founding year, industry) from a company domain."""

    name = "pdl"

    def __init__(self, http: ResilientProvider, api_key: str, base_url: str, cost_usd: float) -> None:
        self._http, self._headers, self.cost_usd = http, {"X-Api-Key": api_key}, cost_usd
        self._url = f"{base_url.rstrip('/')}/v5/company/enrich"

    async def fetch(self, query: Mapping[str, Any]) -> dict[str, Any] | None:
        params = {"website": str(query["domain"])}
        return await self._http.get_json(
            self._url, parse_company, params=params, headers=self._headers, not_found=(404,)
        )


def _bulk_answer(item: Any, email: str) -> dict[str, Any] | Exception | None:
    """One request's answer in a bulk body, judged as `ResilientProvider` judges a single call's status."""
    if not isinstance(item, dict) or not isinstance(item.get("status"), int):
        return ProviderUnavailableError("pdl", "malformed bulk answer (no status)")
    echoed = (item.get("metadata") or {}).get("email") if isinstance(item.get("metadata"), dict) else None
    if echoed is not None and echoed != email:
        return ProviderUnavailableError("pdl", "bulk answers out of order")
    status = item["status"]
    if status == 404:
        return None
    if status == 200:
        try:
            return parse_person(item)
        except (ValueError, KeyError, TypeError) as error:
            return ProviderUnavailableError("pdl", f"malformed bulk answer ({error})")
    if status in ACCOUNT_STATUSES or status == 429 or status >= 500:
        return ProviderUnavailableError("pdl", f"bulk answer {status}")
    return ProviderRejectedError("pdl", f"bulk answer {status}: {str(item.get('error'))[:200]}")


def parse_person_bulk(body: Any, emails: Sequence[str]) -> list[dict[str, Any] | Exception | None]:
    """Per email: fields, None (no match) or an error; a body that is not one answer per request raises."""
    if not isinstance(body, list):
        raise TypeError("bulk body is not a JSON array")
    if len(body) != len(emails):
        raise ValueError(f"{len(body)} answers for {len(emails)} requests")
    return [_bulk_answer(item, email) for item, email in zip(body, emails, strict=True)]


class PdlPersonBulk:
    """The same `Provider` as `PdlPerson`, over the bulk endpoint: concurrent leads share a call."""

    name = "pdl"

    def __init__(
        self,
        http: ResilientProvider,
        api_key: str,
        base_url: str,
        cost_usd: float,
        *,
        batch_size: int = 100,
        linger: float = 0.05,
    ) -> None:
        self._http, self._headers, self.cost_usd = http, {"X-Api-Key": api_key}, cost_usd
        self._url = f"{base_url.rstrip('/')}/v5/person/bulk"
        self._batcher: MicroBatcher[str, dict[str, Any]] = MicroBatcher(
            self._enrich, max_size=min(batch_size, 100), linger=linger
        )

    async def fetch(self, query: Mapping[str, Any]) -> dict[str, Any] | None:
        return await self._batcher.submit(str(query["email"]))

    async def _enrich(self, emails: list[str]) -> Sequence[dict[str, Any] | Exception | None]:
        body = {"requests": [{"metadata": {"email": e}, "params": {"email": e}} for e in emails]}
        answers = await self._http.post_json(
            self._url, lambda b: parse_person_bulk(b, emails), body, headers=self._headers
        )
        assert answers is not None  # no status counts as "not found" for the bulk call itself
        return answers
