"""Email events: generated, sent, failed, suppressed."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from coldstream_shared import subjects
from coldstream_shared.events.envelope import Event
from coldstream_shared.events.leads import LeadData


class Touch(BaseModel):
    """One email of a sequence."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    step: int = Field(ge=1)
    subject: str
    body: str
    delay_days: int = Field(0, ge=0)
    opening_line: str | None = Field(None, description="The personal first line (also inside `body`).")
    call_to_action: str | None = Field(None, description="The ask (also inside `body`).")


class EmailGenerated(Event):
    """Personalization wrote a lead's whole sequence and it passed the quality gate."""

    subject: ClassVar[str] = subjects.EMAIL_GENERATED
    lead_id: str
    campaign_id: str
    lead: LeadData
    touches: list[Touch] = Field(min_length=1)
    variant: int = 1
    writer: Literal["template", "llm"]
    model: str = Field(description="e.g. 'template-writer/v1' or a Claude model id.")
    prompt_version: str
    quality_score: float = Field(ge=0, le=100)
    quality_breakdown: dict[str, float] = Field(default_factory=dict)
    framework: str | None = Field(None, description="Copywriting framework the writer used, e.g. 'PAS'.")
    personalization_level: str | None = Field(None, description="'low', 'medium' or 'high', as the writer judged.")
    variants: int = Field(1, ge=1, description="How many variants were written for this lead; `variant` was sent.")


class EmailSent(Event):
    """One touch left through a backend. Terminal for that touch."""

    subject: ClassVar[str] = subjects.EMAIL_SENT
    lead_id: str
    campaign_id: str
    email: str
    step: int
    variant: int = 1
    backend: Literal["file", "smtp", "instantly"]
    message_id: str
    subject_line: str | None = None
    unsubscribe_token: str | None = Field(None, description="Lets the replies service honour the footer link.")


class EmailFailed(Event):
    """A touch could not be sent; `permanent` says whether anything will try again."""

    subject: ClassVar[str] = subjects.EMAIL_FAILED
    lead_id: str
    campaign_id: str
    step: int
    backend: str
    reason: str
    permanent: bool = True


class EmailSuppressed(Event):
    """A touch was not sent because the address or its domain is on the suppression list. Terminal."""

    subject: ClassVar[str] = subjects.EMAIL_SUPPRESSED
    lead_id: str
    campaign_id: str
    step: int
    reason: str
    scope: Literal["email", "domain"] = "email"


class EmailHeld(Event):
    """A generated sequence failed the quality gate twice (or awaits a person): held for review, never sent."""

    subject: ClassVar[str] = subjects.EMAIL_HELD
    lead_id: str
    campaign_id: str
    reason_code: str = Field(description="e.g. 'quality_gate', 'budget_exhausted'.")
    reasons: list[str] = Field(default_factory=list)
    quality_score: float | None = Field(None, ge=0, le=100)
    prompt_version: str | None = None
    variant: int | None = None


class EmailCancelled(Event):
    """Remaining touches of a lead will not be sent (reply, unsubscribe, bounce, company stop). Terminal."""

    subject: ClassVar[str] = subjects.EMAIL_CANCELLED
    lead_id: str
    campaign_id: str
    steps: list[int] = Field(default_factory=list, description="The touches that were cancelled.")
    reason: str
