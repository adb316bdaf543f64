"""Cleaning lead fields before anything writes them into an email."""

from __future__ import annotations

import re

from coldstream_shared.events import LeadData

# A value that is itself a placeholder ("[First Name]", "{company}") is a data-entry mistake, not a name.
_PLACEHOLDER_VALUE = re.compile(r"^\s*(\{.*\}|\[.*\]|<.*>|%.*%)\s*$")
_BRACES = re.compile(r"[{}]")


def lead_value(value: str | None) -> str | None:
    """A lead field cleaned for insertion, or None when it carries nothing usable."""
    if value is None or _PLACEHOLDER_VALUE.match(value):
        return None
    # Braces in data would look like an unresolved placeholder to the quality gate (and to the reader).
    cleaned = " ".join(_BRACES.sub("", value).split())
    return cleaned or None


def first_name_of(lead: LeadData) -> str | None:
    """The first name, or the first word of the full name when only that is known."""
    first = lead_value(lead.first_name)
    if first:
        return first
    full = lead_value(lead.full_name)
    return full.split()[0] if full else None
