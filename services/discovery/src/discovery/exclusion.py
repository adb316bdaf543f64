"""Pure rules: contacts other campaigns already reached, and companies whose event is not in the ICP's window.

Cross-campaign exclusion (seed 000 agent 2.4) reads a projection of other services' facts: an address that
bounced (hard) or unsubscribed is never imported again, nor is anyone at a domain that unsubscribed as a whole;
an address emailed by any campaign within the importing campaign's `sending.recontact_after_days` is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from coldstream_shared.campaign import EventWindow
from coldstream_shared.events import LeadData

# Exclusion reason -> the campaign counter it adds to.
COUNTER_FOR_REASON = {
    "emailed": "excluded_emailed",
    "bounced": "excluded_bounced",
    "unsubscribed": "excluded_unsubscribed",
    "domain_unsubscribed": "excluded_unsubscribed",
}


@dataclass(frozen=True)
class ContactFacts:
    """What the projection knows about a batch's addresses and domains."""

    suppressed: Mapping[str, tuple[str, datetime | None]] = field(default_factory=dict)  # email -> (why, when)
    last_emailed: Mapping[str, datetime] = field(default_factory=dict)
    suppressed_domains: Mapping[str, tuple[str, datetime]] = field(default_factory=dict)
    recontact_cutoff: datetime | None = None  # emailed after this -> too recent to contact again


@dataclass(frozen=True)
class Exclusion:
    """Why a unique, valid lead is left out because of what happened in other campaigns."""

    reason: str  # emailed | bounced | unsubscribed | domain_unsubscribed
    reason_code: str  # on lead.rejected: suppressed | recently_emailed
    sentence: str
    evidence_at: datetime | None = None


def exclusion_for(lead: LeadData, facts: ContactFacts) -> Exclusion | None:
    """The first reason (suppression before recency) this lead must not be contacted by the campaign, if any."""
    if lead.email in facts.suppressed:
        why, at = facts.suppressed[lead.email]
        reason = "bounced" if why == "bounced" else "unsubscribed"
        return Exclusion(reason, "suppressed", f"the address is suppressed ({why})", at)
    email_domain = lead.email.rsplit("@", 1)[-1]
    for domain in (email_domain, lead.company_domain):
        if domain and domain in facts.suppressed_domains:
            why, at = facts.suppressed_domains[domain]
            return Exclusion("domain_unsubscribed", "suppressed", f"the domain {domain} is suppressed ({why})", at)
    emailed = facts.last_emailed.get(lead.email)
    if emailed is not None and facts.recontact_cutoff is not None and emailed > facts.recontact_cutoff:
        return Exclusion(
            "emailed", "recently_emailed", f"the address was emailed on {emailed.date().isoformat()}", emailed
        )
    return None


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def event_window_miss(lead: LeadData, window: EventWindow, today: date) -> tuple[str, str] | None:
    """(reason code, sentence) when the company's event is missing or outside [today+min, today+max] months."""
    raw = lead.extra.get("event_date")
    if not isinstance(raw, str):
        return "no_event_date", "the campaign keeps only companies with an upcoming event, and this row has no date"
    event = date.fromisoformat(raw)
    start, end = add_months(today, window.min_months), add_months(today, window.max_months)
    if start <= event <= end:
        return None
    return (
        "outside_event_window",
        f"the event on {raw} is not {window.min_months}-{window.max_months} months out ({start} to {end})",
    )
