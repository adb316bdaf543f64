"""ZeroBounce email validation (`GET /v2/validate`, https://www.zerobounce.net/docs/email-validation-api-quickstart/).

The response carries `status` (valid, invalid, catch-all, unknown, spamtrap, abuse, do_not_mail) and a
`sub_status` that explains it. A bad key or exhausted credits comes back as HTTP 200 with an `error` field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from enrichment.providers.resilient import ProviderUnavailableError, ResilientProvider
from enrichment.verification import Verdict

_VERDICTS: dict[str, Verdict] = {
    "valid": "safe",
    "invalid": "invalid",
    "catch-all": "catch_all",
    "unknown": "unknown",
    "spamtrap": "invalid",
    "abuse": "risky",
    "do_not_mail": "risky",
}
# do_not_mail sub-statuses that mean the address must never be mailed.
_NEVER = frozenset({"disposable", "toxic", "global_suppression"})


@dataclass(frozen=True)
class ApiVerdict:
    """A verification provider's verdict with its reason."""

    verdict: Verdict
    reason: str


def parse_validate(body: Any) -> ApiVerdict | dict[str, Any]:
    """The verdict, or the body itself when it is ZeroBounce's in-band error."""
    if not isinstance(body, dict):
        raise TypeError("body is not a JSON object")
    if "error" in body and "status" not in body:
        return body
    status = str(body["status"]).lower()
    sub_status = str(body.get("sub_status") or "")
    if status not in _VERDICTS:
        raise ValueError(f"unknown status {status!r}")
    verdict: Verdict = "invalid" if sub_status in _NEVER else _VERDICTS[status]
    return ApiVerdict(verdict, f"zerobounce: {status}{f' ({sub_status})' if sub_status else ''}")


class ZeroBounceVerifier:
    """A `Provider` for the verification group, over ZeroBounce."""

    name = "zerobounce"

    def __init__(self, http: ResilientProvider, api_key: str, base_url: str, cost_usd: float) -> None:
        self._http = http
        self._api_key = api_key
        self._url = f"{base_url.rstrip('/')}/v2/validate"
        self.cost_usd = cost_usd

    async def fetch(self, query: Mapping[str, Any]) -> dict[str, Any]:
        """One validation (one credit): `{"verdict": ..., "reason": ...}`."""
        answer = await self._http.get_json(
            self._url, parse_validate, params={"api_key": self._api_key, "email": str(query["email"]), "ip_address": ""}
        )
        if not isinstance(answer, ApiVerdict):
            self._http.breaker.record_failure()
            raise ProviderUnavailableError(self.name, f"error: {(answer or {}).get('error', 'empty answer')}")
        return {"verdict": answer.verdict, "reason": answer.reason}
