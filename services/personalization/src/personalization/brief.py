"""The research brief: the only facts a writer may use about a lead, their company and our offer.

The brief is what keeps the model honest. It is built from data we hold (the lead, enrichment, the company
summary, the campaign) and nothing else; the quality gate later checks every name and number in an email
against the same text (`grounding_text`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from coldstream_shared.events import LeadData, LeadVerified
from coldstream_shared.events.leads import Scalar
from personalization.campaign import Campaign
from personalization.lead_fields import first_name_of, lead_value

# Enrichment keys that are plumbing, not facts a person would mention.
_NOT_FACTS = ("cost", "provider", "source", "verified", "verdict", "confidence", "status", "_at", "id")
MAX_FACT_CHARS = 300  # a long scraped value is cut: the brief stays compact (and cheap in tokens)


@dataclass(frozen=True)
class ResearchBrief:
    """Facts about the person and company, and the campaign's offer, as short labelled lines."""

    lead: LeadData
    first_name: str | None
    person: tuple[str, ...]
    company: tuple[str, ...]
    offer: tuple[str, ...]
    # Lead-specific words (name, company, title, ...) whose presence shows an email is personal.
    personal_terms: tuple[str, ...]

    def as_text(self) -> str:
        """The brief as the model reads it."""
        sections = (("Person", self.person), ("Company", self.company), ("Our offer", self.offer))
        return "\n\n".join(
            f"## {title}\n" + "\n".join(f"- {line}" for line in lines) for title, lines in sections if lines
        )


def _clip(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= MAX_FACT_CHARS else value[: MAX_FACT_CHARS - 1].rstrip() + "…"


def _line(label: str, value: Scalar) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = lead_value(str(value))
    return f"{label}: {_clip(text)}" if text else None


def _enrichment_facts(enrichment: Mapping[str, Scalar]) -> list[str]:
    lines = []
    for key, value in sorted(enrichment.items()):
        if any(marker in key.lower() for marker in _NOT_FACTS):
            continue
        line = _line(key.replace("_", " "), value)
        if line:
            lines.append(line)
    return lines


def build_brief(
    lead: LeadData,
    campaign: Campaign,
    enrichment: Mapping[str, Scalar] | None = None,
    company_summary: str | None = None,
) -> ResearchBrief:
    """Collect the known facts; a missing field is simply absent (never guessed)."""
    first = first_name_of(lead)
    full = lead_value(lead.full_name) or " ".join(filter(None, (first, lead_value(lead.last_name)))) or None
    person = [
        _line("Name", full),
        _line("First name", first),
        _line("Title", lead.title),
        _line("Seniority", lead.seniority),
        _line("Department", lead.department),
        _line("City", lead.city),
        _line("Country", lead.country),
        *(_line(f"Note {key}", value) for key, value in sorted(lead.extra.items())),
    ]
    company = [
        _line("Company", lead.company),
        _line("Domain", lead.company_domain),
        _line("Industry", lead.industry),
        _line("Employees", lead.company_size),
        _line("Summary", company_summary),
        *_enrichment_facts(enrichment or {}),
    ]
    offer = campaign.offer
    offer_lines = [
        f"Product: {offer.product}",
        f"Value proposition: {offer.value_proposition}",
        f"Call to action: {offer.call_to_action}",
        *(f"Proof point: {p}" for p in offer.proof_points),
        *(f"Pain point we solve: {p}" for p in offer.pain_points),
        *(f"Persona we write to: {p}" for p in campaign.policy.personas),
        f"Sender: {campaign.from_name}",
    ]
    terms = [first, lead_value(lead.company), lead_value(lead.title), lead_value(lead.industry), lead_value(lead.city)]
    return ResearchBrief(
        lead=lead,
        first_name=first,
        person=tuple(line for line in person if line),
        company=tuple(line for line in company if line),
        offer=tuple(offer_lines),
        personal_terms=tuple(term for term in terms if term),
    )


def brief_for(event: LeadVerified, campaign: Campaign) -> ResearchBrief:
    """The brief for a verified lead."""
    return build_brief(event.lead, campaign, event.enrichment, event.company_summary)


def grounding_text(brief: ResearchBrief, campaign: Campaign) -> str:
    """Everything an email may state: the brief, plus the campaign's own templates (the sender wrote those)."""
    templates = [f"{step.subject}\n{step.body}" for step in campaign.steps]
    return "\n".join([brief.as_text(), campaign.from_name, campaign.from_email, *templates])
