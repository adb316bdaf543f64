"""People Data Labs enrichment (https://docs.peopledatalabs.com): person (`GET /v5/person/enrich`) and company
(`GET /v5/company/enrich`). Both take the key in `X-Api-Key` and answer 404 when there is no match (not billed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from enrichment.providers.resilient import ResilientProvider


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
