"""Hunter Email Finder (`GET /v2/email-finder`, https://hunter.io/api-documentation/v2#email-finder).

Answers `{"data": {"email": ..., "score": 0-100, ...}, "meta": {...}}`; `email` is null when nothing was found.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from enrichment.providers.resilient import ResilientProvider


def parse_finder(body: Any) -> dict[str, Any] | None:
    data = body["data"]
    if not isinstance(data, dict):
        raise TypeError("data is not an object")
    if not data.get("email"):
        return None
    return {"work_email": str(data["email"]).lower(), "work_email_score": int(data.get("score") or 0)}


class HunterEmailFinder:
    """Work email from a name and a company domain."""

    name = "hunter"

    def __init__(self, http: ResilientProvider, api_key: str, base_url: str, cost_usd: float) -> None:
        self._http, self._key, self.cost_usd = http, api_key, cost_usd
        self._url = f"{base_url.rstrip('/')}/v2/email-finder"

    async def fetch(self, query: Mapping[str, Any]) -> dict[str, Any] | None:
        if not (query.get("first_name") and query.get("last_name") and query.get("company_domain")):
            return None
        params = {
            "domain": str(query["company_domain"]),
            "first_name": str(query["first_name"]),
            "last_name": str(query["last_name"]),
            "api_key": self._key,
        }
        return await self._http.get_json(self._url, parse_finder, params=params, not_found=(404,))
