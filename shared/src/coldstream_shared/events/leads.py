"""Lead lifecycle events: scraped, verified, rejected, unsubscribed, bounced."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from coldstream_shared import subjects
from coldstream_shared.events.envelope import Event

Scalar = str | int | float | bool | None


class LeadData(BaseModel):
    """What we know about a person and their company; every field but the email is optional."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    email: str
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    title: str | None = None
    seniority: str | None = None
    department: str | None = None
    company: str | None = None
    company_domain: str | None = None
    website: str | None = None
    linkedin_url: str | None = None
    phone: str | None = None
    country: str | None = None
    city: str | None = None
    timezone: str | None = None
    industry: str | None = None
    company_size: int | None = None
    extra: dict[str, Scalar] = Field(default_factory=dict)


class LeadScraped(Event):
    """Discovery accepted a lead: normalised, deduplicated and scored."""

    subject: ClassVar[str] = subjects.LEAD_SCRAPED
    lead_id: str
    campaign_id: str
    lead: LeadData
    source: str = Field(description="Which source produced it, e.g. 'csv:leads.csv'.")
    row_number: int | None = None
    score: int | None = Field(None, ge=0, le=100)
    tier: Literal["A", "B", "C"] | None = None
    score_breakdown: dict[str, float] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list, description="Warnings that did not reject it, e.g. 'role_address'.")


class LeadVerified(Event):
    """Enrichment decided the address can be mailed and attached what it learned."""

    subject: ClassVar[str] = subjects.LEAD_VERIFIED
    lead_id: str
    campaign_id: str
    lead: LeadData
    verdict: Literal["safe", "risky", "invalid", "unknown", "catch_all"]
    reasons: list[str] = Field(default_factory=list)
    verified_by: str = Field(description="Which checks produced the verdict, e.g. 'syntax-only'.")
    enrichment: dict[str, Scalar] = Field(default_factory=dict)
    company_summary: str | None = None
    company_summary_source: str | None = None
    score: int | None = None
    tier: Literal["A", "B", "C"] | None = None


class LeadRejected(Event):
    """A lead (or an input row) that will not be emailed, and why. Terminal."""

    subject: ClassVar[str] = subjects.LEAD_REJECTED
    lead_id: str
    campaign_id: str
    stage: Literal["discovery", "enrichment", "personalization", "sending"]
    reason_code: str = Field(description="Machine-readable, e.g. 'invalid_email', 'duplicate', 'suppressed'.")
    reason: str = Field(description="For a person: what was wrong and where.")
    email: str | None = None
    row_number: int | None = None
    duplicate_of: str | None = Field(None, description="The lead id this row duplicated.")


class LeadUnsubscribed(Event):
    """Someone asked not to be contacted again. Sending suppresses the address permanently."""

    subject: ClassVar[str] = subjects.LEAD_UNSUBSCRIBED
    email: str
    source: Literal["link", "webhook", "reply", "cli", "import"]
    reason: str | None = None
    scope: Literal["email", "domain"] = "email"


class LeadBounced(Event):
    """An address bounced. Hard bounces are suppressed permanently."""

    subject: ClassVar[str] = subjects.LEAD_BOUNCED
    email: str
    bounce_type: Literal["hard", "soft"] = "hard"
    reason: str | None = None


class LeadProposed(Event):
    """Someone new to contact, named in a reply (referral, wrong person); discovery decides whether to import."""

    subject: ClassVar[str] = subjects.LEAD_PROPOSED
    campaign_id: str
    email: str
    full_name: str | None = None
    referred_by: str = Field(description="The address whose reply named this contact.")
    reason: Literal["referral", "wrong_person"]
