"""Pure verification rules: what an address looks like, and what that means for mailing it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from email_validator import EmailNotValidError, validate_email

Verdict = Literal["safe", "risky", "invalid", "unknown", "catch_all"]

ROLE_ACCOUNTS = frozenset(
    {
        "admin",
        "billing",
        "contact",
        "hello",
        "help",
        "info",
        "jobs",
        "marketing",
        "noreply",
        "no-reply",
        "office",
        "postmaster",
        "sales",
        "support",
        "team",
        "webmaster",
        "abuse",
        "careers",
        "hr",
    }
)


@dataclass(frozen=True)
class Verification:
    """A verdict with the reasons that led to it."""

    verdict: Verdict
    normalized: str | None
    reasons: list[str] = field(default_factory=list)
    verified_by: str = "syntax-only"


def check_syntax(email: str) -> Verification:
    """Syntax and role checks only (offline mode: no DNS, no SMTP, no providers)."""
    try:
        result = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        return Verification("invalid", None, [f"syntax: {error}"])
    reasons = ["syntax: ok"]
    verdict: Verdict = "unknown"  # syntax alone cannot prove a mailbox exists
    if result.local_part.lower() in ROLE_ACCOUNTS:
        reasons.append("role account")
        verdict = "risky"
    return Verification(verdict, result.normalized, reasons)


def proceeds(verdict: Verdict, accepted: frozenset[str]) -> bool:
    """Whether the campaign's policy lets a lead with this verdict go on."""
    return verdict in accepted
