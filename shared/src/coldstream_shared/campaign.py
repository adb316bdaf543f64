"""The campaign definition: what a user writes in a campaign file and what `campaign.started` carries.

It is a contract (every service reads the part it needs from `campaign.started`), so it lives here; the YAML
loader and its friendly errors live in the CLI.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="lower-case letters, digits, '-'")]


class _Spec(BaseModel):
    # Typos in a campaign file must fail loudly, not be ignored.
    model_config = ConfigDict(frozen=True, extra="forbid")


class EventWindow(_Spec):
    """Keep only companies with an upcoming event this many months out (seed 001: 4-12)."""

    min_months: int = Field(4, ge=0, le=60)
    max_months: int = Field(12, ge=0, le=60)


class Icp(_Spec):
    """Who to target."""

    titles: list[str] = Field(default_factory=list, description="Job titles that fit, e.g. 'Head of Growth'.")
    seniority: list[str] = Field(default_factory=list, description="e.g. vp, director, head, c_level")
    departments: list[str] = Field(default_factory=list)
    industries: list[str] = Field(default_factory=list)
    company_size: tuple[int, int] | None = Field(None, description="Employee range [min, max].")
    locations: list[str] = Field(default_factory=list, description="Countries or regions.")
    keywords: list[str] = Field(default_factory=list)
    event_window: EventWindow | None = None
    min_tier: Literal["A", "B", "C"] = Field("C", description="Lowest ICP tier that proceeds to enrichment.")


class Source(_Spec):
    """Where leads come from. `path` is resolved relative to the campaign file when the campaign starts."""

    type: Literal["csv", "jsonl", "provider"] = "csv"
    path: str | None = None
    provider: str | None = Field(None, description="People-search provider name when type is 'provider'.")
    column_map: dict[str, str] = Field(default_factory=dict, description="Our field -> your column header.")
    limit: int | None = Field(None, ge=1)


class Offer(_Spec):
    """What we are offering, in the sender's words; the writer grounds every email in it."""

    product: str = Field(..., min_length=1)
    value_proposition: str = Field(..., min_length=1)
    call_to_action: str = Field("Worth a quick chat next week?", min_length=1)
    proof_points: list[str] = Field(default_factory=list)
    pain_points: list[str] = Field(
        default_factory=list, description="Problems the offer solves, in the buyer's words; the writer may use them."
    )


class Step(_Spec):
    """One touch of the sequence. Templates may use {first_name}, {company}, {title}, {sender_name}, ..."""

    subject: str = Field(..., min_length=1, max_length=200)
    body: str = Field(..., min_length=1)
    delay_days: int = Field(0, ge=0, le=90, description="Days after the previous touch (0 for the first).")


class Sequence(_Spec):
    """The touches, in order."""

    steps: list[Step] = Field(..., min_length=1, max_length=10)
    business_days: bool = Field(True, description="Count delays in business days.")
    variants: int = Field(1, ge=1, le=5)


class SendingAccount(_Spec):
    """One mailbox a campaign sends from, with its own limits (seed 002: inboxes, inbox_settings)."""

    email: str = Field(..., pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    daily_limit: int = Field(50, ge=1, le=10_000)
    hourly_limit: int | None = Field(None, ge=1, le=1_000, description="Default: the campaign's hourly_limit.")


class InstantlyOptions(_Spec):
    """Options passed to the Instantly campaign created from ours."""

    stop_on_reply: bool = True
    stop_on_auto_reply: bool = False
    insert_unsubscribe_header: bool = True
    open_tracking: bool = False
    link_tracking: bool = False
    text_only: bool = True


class Sending(_Spec):
    """How and from whom the emails go out."""

    backend: Literal["file", "smtp", "instantly"] = "file"
    from_name: str = Field(..., min_length=1)
    from_email: str = Field(..., pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    reply_to: str | None = None
    daily_limit: int = Field(50, ge=1, le=10_000)
    timezone: str = "UTC"
    window_start: str = Field("09:00", pattern=r"^\d{2}:\d{2}$")
    window_end: str = Field("17:00", pattern=r"^\d{2}:\d{2}$")
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], description="0 = Monday.")
    stop_for_company: bool = Field(False, description="A reply stops the sequence for the whole company domain.")
    recontact_after_days: int = Field(90, ge=0, description="Skip contacts emailed by any campaign this recently.")
    # Issue 7 (sending): accounts, pacing, alerts, footer and Instantly options. All optional with defaults.
    accounts: list[SendingAccount] = Field(
        default_factory=list, description="Mailboxes to rotate through (SMTP) or to send from (Instantly email_list)."
    )
    hourly_limit: int = Field(10, ge=1, le=1_000, description="Per account, on top of each account's daily limit.")
    min_delay_seconds: float = Field(0, ge=0, le=3_600, description="Random pause between two sends (SMTP).")
    max_delay_seconds: float = Field(0, ge=0, le=3_600)
    bounce_threshold: float = Field(0.05, gt=0, le=1, description="Bounce rate that pauses the campaign.")
    bounce_window_hours: int = Field(24, ge=1, le=720)
    bounce_min_sent: int = Field(20, ge=1, description="Sends in the window before the bounce rate is judged.")
    footer_text: str = Field(
        "{physical_address}\nUnsubscribe: {unsubscribe_url}",
        description="Compliance footer; must contain {unsubscribe_url}; {physical_address} is the team's address.",
    )
    instantly: InstantlyOptions = Field(default_factory=lambda: InstantlyOptions())

    @field_validator("footer_text")
    @classmethod
    def _footer_has_unsubscribe_link(cls, text: str) -> str:
        if "{unsubscribe_url}" not in text:
            raise ValueError("footer_text must contain {unsubscribe_url}: every email needs a way to opt out")
        return text


Verdict = Literal["safe", "risky", "catch_all", "unknown"]


def _default_verdicts() -> list[Verdict]:
    return ["safe", "catch_all", "unknown"]


class EnrichmentPolicy(_Spec):
    """What enrichment may spend and which verification verdicts proceed."""

    accept_verdicts: list[Verdict] = Field(
        default_factory=_default_verdicts,
        description="Verdicts that go on to personalization; 'unknown' is what offline, syntax-only checks give.",
    )
    budget_usd: float | None = Field(None, ge=0, description="Stop paid provider calls at this spend.")
    providers: dict[Literal["work_email", "person", "company", "website"], list[str]] = Field(
        default_factory=dict,
        description="Waterfall order per field group, first tried first, e.g. work_email: [pattern, hunter]; "
        "a group left out uses the service default order; an empty list skips the group.",
    )
    research_max_age_days: float | None = Field(
        None, gt=0, description="Company research older than this is fetched again (default: the service's TTL)."
    )


class PersonalizationPolicy(_Spec):
    """How sequences are written and gated (issue 6 adds to this)."""

    quality_threshold: float = Field(
        70, ge=0, le=100, description="Below this a sequence is rewritten once, then held."
    )
    budget_usd: float | None = Field(None, ge=0, description="Stop LLM generation at this spend.")
    tone: str = Field("friendly, direct and plain; no hype", max_length=200, description="How the emails sound.")
    personas: list[str] = Field(
        default_factory=list, description="Who the campaign writes to, e.g. 'Head of Growth at a B2B SaaS'."
    )


class Approvals(_Spec):
    """Human gates (seed 000: leads_approved_at/by, sending approval)."""

    leads: Literal["auto", "manual"] = "auto"
    sending: Literal["auto", "manual"] = "auto"


class CampaignSpec(_Spec):
    """A whole campaign, as written in its YAML file."""

    id: Slug
    name: str = Field(..., min_length=1, max_length=200)
    icp: Icp = Field(default_factory=Icp)
    sources: list[Source] = Field(..., min_length=1)
    offer: Offer
    sequence: Sequence
    sending: Sending
    enrichment: EnrichmentPolicy = Field(default_factory=EnrichmentPolicy)
    personalization: PersonalizationPolicy = Field(default_factory=PersonalizationPolicy)
    approvals: Approvals = Field(default_factory=Approvals)

    @field_validator("sources")
    @classmethod
    def _file_sources_have_paths(cls, sources: list[Source]) -> list[Source]:
        for i, src in enumerate(sources):
            if src.type in ("csv", "jsonl") and not src.path:
                raise ValueError(f"sources[{i}]: a {src.type} source needs a 'path'")
            if src.type == "provider" and not src.provider:
                raise ValueError(f"sources[{i}]: a provider source needs a 'provider' name")
        return sources
