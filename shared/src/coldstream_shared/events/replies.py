"""Reply events."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import Field

from coldstream_shared import subjects
from coldstream_shared.events.envelope import Event

ReplyCategory = Literal[
    "interested",
    "meeting_request",
    "question",
    "not_interested",
    "not_now",
    "unsubscribe",
    "out_of_office",
    "auto_reply",
    "bounce",
    "referral",
    "wrong_person",
    "neutral",
]


class ReplyReceived(Event):
    """A prospect (or their mail server) answered."""

    subject: ClassVar[str] = subjects.REPLY_RECEIVED
    email: str
    reply_subject: str | None = None
    text: str
    received_at: datetime
    source: Literal["instantly_webhook", "instantly_poll", "cli", "smtp"]
    step: int | None = None
    provider_email_id: str | None = None


class ReplyClassified(Event):
    """What a reply means, and who decided it."""

    subject: ClassVar[str] = subjects.REPLY_CLASSIFIED
    email: str
    category: ReplyCategory
    confidence: float = Field(ge=0, le=1)
    reasoning: str
    key_phrase: str | None = None
    return_date: date | None = None
    referral_email: str | None = None
    classifier: str = Field(description="e.g. 'rules/v1' or a Claude model id.")
