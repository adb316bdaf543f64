"""ZeroBounce email validation (`GET /v2/validate`, https://www.zerobounce.net/docs/email-validation-api-quickstart/).

The response carries `status` (valid, invalid, catch-all, unknown, spamtrap, abuse, do_not_mail) and a
`sub_status` that explains it. A bad key or exhausted credits comes back as HTTP 200 with an `error` field.

The batch endpoint (https://zerobounce.net/docs/email-validation-api-quickstart/v2-batch-validate-emails):
`POST https://bulkapi.zerobounce.net/v2/validatebatch` with `{"api_key", "email_batch": [{"email_address",
"ip_address"}]}`, up to 200 addresses; it answers `{"email_batch": [<a /v2/validate result per address, with its
"address">], "errors": [...]}`. ZeroBounce limits it to 5 calls a minute (more blocks the key for 10 minutes), so
it suits backlogs, not a trickle: `COLDSTREAM_ZEROBOUNCE_BATCH_SIZE` turns it on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from enrichment.providers.batching import MicroBatcher
from enrichment.providers.resilient import (
    AccountError,
    ProviderRejectedError,
    ProviderUnavailableError,
    ResilientProvider,
)
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
            self._url,
            _verdict_or_account_error,
            params={"api_key": self._api_key, "email": str(query["email"]), "ip_address": ""},
        )
        assert answer is not None  # no status counts as "not found" here
        return {"verdict": answer.verdict, "reason": answer.reason}


def _verdict_or_account_error(body: Any) -> ApiVerdict:
    verdict = parse_validate(body)
    if not isinstance(verdict, ApiVerdict):
        raise AccountError(verdict.get("error") or "empty answer")
    return verdict


def parse_batch(body: Any, emails: Sequence[str]) -> list[ApiVerdict | Exception]:
    """One verdict or error per address, in the order asked; a body that is not the documented shape raises, and
    one refusing the whole batch (bad key, no credits: about us, not any address) raises `AccountError`.

    An address missing from `email_batch` is the provider's transient failure (asked again on redelivery); an
    address named in `errors` was refused for good, like a 4xx on the single endpoint.
    """
    if not isinstance(body, dict):
        raise TypeError("body is not a JSON object")
    results, errors = body.get("email_batch"), body.get("errors") or []
    if not isinstance(errors, list):
        raise TypeError("errors is not a list")
    # The documentation shows `errors` only empty; entries are read as {"error", "email_address"} (an address, or
    # "all"/none for the whole batch) and anything else in them is ignored.
    refused = {
        str(e.get("email_address") or "all").lower(): str(e.get("error") or "refused")
        for e in errors
        if isinstance(e, dict)
    }
    if not isinstance(results, list):
        if "error" in body or refused:
            raise AccountError(str(body.get("error") or "; ".join(refused.values())))
        raise KeyError("email_batch")
    if not results and "all" in refused:
        raise AccountError(refused["all"])
    by_address = {str(r.get("address") or "").lower(): r for r in results if isinstance(r, dict)}
    answers: list[ApiVerdict | Exception] = []
    for email in emails:
        found = by_address.get(email.lower())
        if found is None:
            reason = refused.get(email.lower())
            answers.append(
                ProviderRejectedError("zerobounce", f"refused {email}: {reason}")
                if reason
                else ProviderUnavailableError("zerobounce", "batch answer left this address out")
            )
            continue
        try:
            verdict = parse_validate(found)
        except (ValueError, KeyError, TypeError) as error:
            answers.append(ProviderUnavailableError("zerobounce", f"malformed batch result ({error})"))
            continue
        answers.append(
            verdict
            if isinstance(verdict, ApiVerdict)
            else ProviderUnavailableError("zerobounce", f"error: {verdict.get('error')}")
        )
    return answers


class ZeroBounceBatchVerifier:
    """The same `Provider` as `ZeroBounceVerifier`, over the batch endpoint: concurrent leads share a call."""

    name = "zerobounce"

    def __init__(
        self,
        http: ResilientProvider,
        api_key: str,
        bulk_url: str,
        cost_usd: float,
        *,
        batch_size: int = 200,
        linger: float = 0.05,
    ) -> None:
        self._http = http
        self._api_key = api_key
        self._url = f"{bulk_url.rstrip('/')}/v2/validatebatch"
        self.cost_usd = cost_usd
        self._batcher: MicroBatcher[str, ApiVerdict] = MicroBatcher(
            self._validate, max_size=min(batch_size, 200), linger=linger
        )

    async def fetch(self, query: Mapping[str, Any]) -> dict[str, Any]:
        """One validation (one credit, billed per address): `{"verdict": ..., "reason": ...}`."""
        answer = await self._batcher.submit(str(query["email"]))
        assert answer is not None  # the batch parser gives a verdict or an error per address
        return {"verdict": answer.verdict, "reason": answer.reason}

    async def _validate(self, emails: list[str]) -> Sequence[ApiVerdict | Exception]:
        body = {"api_key": self._api_key, "email_batch": [{"email_address": e, "ip_address": None} for e in emails]}
        answers = await self._http.post_json(self._url, lambda b: parse_batch(b, emails), body)
        assert answers is not None  # no status counts as "not found" here
        return answers
