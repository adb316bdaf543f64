"""Pure suppression rules: how addresses are normalised and when one is blocked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Scope = Literal["email", "domain"]


@dataclass(frozen=True)
class Suppression:
    """One entry of the suppression list."""

    value: str
    scope: Scope
    reason: str


def normalise_email(email: str) -> str:
    """The form addresses are stored, locked and compared in."""
    return email.strip().lower()


def domain_of(email: str) -> str:
    """The domain part of an address (already normalised or not)."""
    return normalise_email(email).rpartition("@")[2]


def normalise_value(value: str, scope: Scope) -> str:
    """A suppression-list value: a normalised address, or a bare lower-case domain (a leading '@' dropped)."""
    value = normalise_email(value)
    return value.lstrip("@") if scope == "domain" else value


class InvalidSuppressionError(ValueError):
    """A value that is neither an email address nor a domain."""


def parse_value(raw: str) -> tuple[str, Scope]:
    """Read a CLI/import value: `bob@acme.com` is an address; `acme.com` or `@acme.com` is a whole domain."""
    value = normalise_email(raw)
    scope: Scope = "domain" if value.startswith("@") or "@" not in value else "email"
    value = normalise_value(value, scope)
    local, _, domain = value.rpartition("@")
    if (
        not domain
        or "." not in domain.strip(".")
        or any(c.isspace() for c in value)
        or "@" in local
        or (scope == "email" and not local)
    ):
        raise InvalidSuppressionError(f"not an email address or a domain: {raw!r}")
    return value, scope


def lock_keys(email: str) -> list[str]:
    """Advisory-lock keys a send takes: domain first, then address, so the order is the same everywhere."""
    return [domain_of(email), normalise_email(email)]


def blocking_entry(email: str, entries: Iterable[Suppression]) -> Suppression | None:
    """The entry that blocks mailing `email` (its address or its whole domain), or None when it may be mailed."""
    address, domain = normalise_email(email), domain_of(email)
    for entry in entries:
        if (entry.scope == "email" and entry.value == address) or (entry.scope == "domain" and entry.value == domain):
            return entry
    return None
