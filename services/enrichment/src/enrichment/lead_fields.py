"""Pure rules for merging what providers found into a lead: known data is never overwritten."""

from __future__ import annotations

from typing import Any

from coldstream_shared.events import LeadData

# Provider field → LeadData field, filled only when the lead has none.
LEAD_FIELDS = {
    "title": "title",
    "seniority": "seniority",
    "linkedin_url": "linkedin_url",
    "full_name": "full_name",
    "country": "country",
    "company_name": "company",
    "industry": "industry",
    "company_size": "company_size",
}
SCALARS = (str, int, float, bool)


def merge_into_lead(lead: LeadData, found: dict[str, Any], email: str) -> LeadData:
    """The lead with the normalised email and every empty field that a provider filled."""
    update: dict[str, Any] = {"email": email}
    for source, target in LEAD_FIELDS.items():
        if found.get(source) is not None and getattr(lead, target) in (None, ""):
            update[target] = found[source]
    return lead.model_copy(update=update)


def flat(found: dict[str, Any]) -> dict[str, Any]:
    """Only scalar values go on the event (LeadVerified.enrichment)."""
    return {key: value for key, value in found.items() if value is None or isinstance(value, SCALARS)}
