"""Free work-email inference (Clay's "Infer Email" step): build the address from the company's pattern.

A domain's pattern is learned from addresses we already know there (first.last, flast, ...); with none known
the common `first.last` is guessed. A learned pattern is trusted; a guess must pass our own verification as
"safe" (which needs the SMTP probe), otherwise the waterfall moves on to a paid finder.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from enrichment.verification import Verification

PATTERNS: dict[str, Callable[[str, str], str]] = {
    "first.last": lambda f, last: f"{f}.{last}",
    "firstlast": lambda f, last: f"{f}{last}",
    "flast": lambda f, last: f"{f[0]}{last}",
    "first_last": lambda f, last: f"{f}_{last}",
    "first": lambda f, last: f,
    "f.last": lambda f, last: f"{f[0]}.{last}",
}


def _ascii(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z]", "", folded.lower())


def pattern_of(email: str, first_name: str | None, last_name: str | None) -> str | None:
    """Which pattern an address follows for this person, if any."""
    first, last = _ascii(first_name or ""), _ascii(last_name or "")
    if not first or not last:
        return None
    local = email.partition("@")[0].lower()
    return next((name for name, build in PATTERNS.items() if build(first, last) == local), None)


class PatternInference:
    """A free `Provider` for the work_email group."""

    name = "pattern"
    cost_usd = 0.0

    def __init__(self, verify: Callable[[str], Awaitable[Verification]], max_domains: int = 100_000) -> None:
        self._verify = verify
        self._patterns: dict[str, str] = {}
        self._max = max_domains

    def learn(self, email: str, first_name: str | None, last_name: str | None) -> None:
        """Remember the pattern an address at a company follows."""
        pattern = pattern_of(email, first_name, last_name)
        if pattern and len(self._patterns) < self._max:
            self._patterns[email.rpartition("@")[2].lower()] = pattern

    async def fetch(self, query: Mapping[str, Any]) -> dict[str, Any] | None:
        first, last = _ascii(query.get("first_name") or ""), _ascii(query.get("last_name") or "")
        domain = str(query.get("company_domain") or "").lower()
        if not (first and last and domain):
            return None
        learned = self._patterns.get(domain)
        candidate = f"{PATTERNS[learned or 'first.last'](first, last)}@{domain}"
        if learned:
            return {"work_email": candidate, "work_email_pattern": learned}
        if (await self._verify(candidate)).verdict == "safe":
            return {"work_email": candidate, "work_email_pattern": "first.last (verified)"}
        return None
