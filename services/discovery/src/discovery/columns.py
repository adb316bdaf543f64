"""Pure header mapping: which column of a lead file holds which lead field."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Normalised header -> our field. Covers generic exports and the common names in Apollo, LinkedIn Sales
# Navigator and Hunter files; a campaign's `column_map` overrides anything here.
_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "e_mail", "email_address", "e_mail_address", "work_email", "business_email", "mail", "emails"),
    "first_name": ("first_name", "firstname", "first", "given_name"),
    "last_name": ("last_name", "lastname", "last", "surname", "family_name"),
    "full_name": ("full_name", "name", "fullname", "contact_name", "person_name", "lead_name"),
    "title": ("title", "job_title", "position", "jobtitle", "job_position", "current_title", "current_job_title"),
    "seniority": ("seniority",),
    "department": ("department", "departments"),
    "company": (
        "company",
        "company_name",
        "organization",
        "organisation",
        "organization_name",
        "account_name",
        "employer",
        "current_company",
        "company_name_for_emails",
    ),
    "company_domain": ("company_domain", "domain", "domain_name", "company_website_domain", "organization_domain"),
    "website": ("website", "company_website", "website_url", "url", "web", "company_url"),
    "linkedin_url": (
        "linkedin",
        "linkedin_url",
        "person_linkedin_url",
        "linkedin_profile",
        "linkedin_profile_url",
        "profile_url",
        "linkedin_url_person",
        "public_profile_url",
    ),
    "phone": (
        "phone",
        "phone_number",
        "mobile",
        "mobile_phone",
        "work_phone",
        "direct_phone",
        "telephone",
        "work_direct_phone",
        "first_phone",
        "corporate_phone",
    ),
    "country": ("country", "person_country"),
    "city": ("city", "person_city"),
    "location": ("location", "geography", "person_location", "region"),
    "timezone": ("timezone", "time_zone"),
    "event_date": ("event_date", "next_event_date", "upcoming_event_date", "event_start_date", "conference_date"),
    "industry": ("industry",),
    "company_size": (
        "company_size",
        "employees",
        "employee_count",
        "number_of_employees",
        "num_employees",
        "estimated_num_employees",
        "headcount",
    ),
}
HEADER_ALIASES: dict[str, str] = {alias: field for field, aliases in _ALIASES.items() for alias in aliases}
LEAD_FIELDS: frozenset[str] = frozenset(_ALIASES)
# An extra column's name (its header) is cut to this: a header cell can be as long as any cell, and the name is
# repeated in every lead's `extra`.
MAX_EXTRA_NAME_CHARS = 100


def normalise_header(header: str) -> str:
    """'E-mail Address ' -> 'e_mail_address': case, spaces and punctuation do not matter."""
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lstrip("\ufeff").lower()).strip("_")


@dataclass(frozen=True)
class ColumnMapping:
    """Column index per lead field, and the columns nobody claimed (kept in `extra` under their header)."""

    fields: dict[str, int]
    extras: dict[str, int]
    width: int = 0  # the header's length

    def apply(self, cells: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
        """Split one row into (lead fields, extra columns); a short (ragged) row yields fewer fields."""
        fields = {f: cells[i] for f, i in self.fields.items() if i < len(cells)}
        extras = {h: cells[i] for h, i in self.extras.items() if i < len(cells)}
        # A long (ragged) row's cells past the header are kept, named by position, never dropped.
        for i in range(self.width, len(cells)):
            extras[f"column_{i + 1}"] = cells[i]
        return fields, extras


class ColumnMapError(ValueError):
    """A `column_map` entry names a column the file does not have, or a field we do not know."""


def map_columns(headers: Sequence[str], column_map: Mapping[str, str] | None = None) -> ColumnMapping:
    """Decide which column feeds which field: the explicit map first, then aliases; first column wins."""
    column_map = column_map or {}
    fields: dict[str, int] = {}
    by_exact = {h.strip().lstrip("\ufeff"): i for i, h in reversed(list(enumerate(headers)))}
    by_normalised = {normalise_header(h): i for i, h in reversed(list(enumerate(headers)))}
    for field, column in column_map.items():
        if field not in LEAD_FIELDS:
            raise ColumnMapError(f"column_map: unknown field {field!r} (known: {', '.join(sorted(LEAD_FIELDS))})")
        index = by_exact.get(column.strip(), by_normalised.get(normalise_header(column)))
        if index is None:
            raise ColumnMapError(f"column_map: the file has no column {column!r} for {field!r}")
        fields[field] = index
    claimed = set(fields.values())
    for i, header in enumerate(headers):
        alias = HEADER_ALIASES.get(normalise_header(header))
        if alias and alias not in fields and i not in claimed:
            fields[alias] = i
            claimed.add(i)
    extras: dict[str, int] = {}
    for i, header in enumerate(headers):
        if i in claimed:
            continue
        name = header.replace("\x00", "").strip().lstrip("\ufeff")[:MAX_EXTRA_NAME_CHARS].strip() or f"column_{i + 1}"
        # A repeated header keeps every column: the later ones get a suffix instead of overwriting the first.
        while name in extras:
            name = f"{name}_{i + 1}"
        extras[name] = i
    return ColumnMapping(fields, extras, len(headers))
