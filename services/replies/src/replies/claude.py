"""Adapter: Claude classifies a reply the rules found ambiguous, through a forced tool call validated by pydantic.

Anything short of a valid answer (API error after the SDK's retries, no tool call, a wrong shape) raises
`ModelUnavailableError`; the caller then keeps the rules' verdict. So the model can only ever add judgement,
never lose a reply.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

import anthropic
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from coldstream_shared.events import ReplyCategory
from replies.classifier import Classification

TOOL = "record_classification"
MAX_REPLY_CHARS = 6000
SYSTEM = """You classify replies to B2B cold emails. Call the tool exactly once.

Categories:
- interested: wants to know more or says yes, without proposing a meeting.
- meeting_request: asks for or accepts a call/meeting, or proposes times.
- question: asks something (price, how it works) without showing clear interest or refusal.
- not_interested: declines (without asking to be removed from the list).
- not_now: the timing is wrong; may say when to come back (put that date in return_date).
- unsubscribe: asks to stop emailing, be removed, or not be contacted, in any language or tone.
- out_of_office: absence notice; put the return date in return_date when one is stated.
- auto_reply: any other automatic answer (ticket systems, "we received your message").
- bounce: a delivery failure notice.
- referral: points to another person; put their email address in referral_email when one is given.
- wrong_person: says they are not the right contact (left the company, wrong department) without naming one.
- neutral: anything else.

When in doubt between unsubscribe and anything else, choose unsubscribe. Keep reasoning to one sentence and
key_phrase to the few words of the reply that decided it. Dates are ISO (YYYY-MM-DD); today is given."""


class ModelVerdict(BaseModel):
    """The tool's input schema; a strict mirror of `Classification`."""

    model_config = ConfigDict(extra="forbid")

    category: ReplyCategory
    confidence: float = Field(ge=0, le=1)
    reasoning: str = Field(min_length=1, max_length=1000)
    key_phrase: str | None = Field(None, max_length=300)
    return_date: date | None = Field(None, description="Return or recontact date, when the reply states one.")
    referral_email: str | None = Field(None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ModelUnavailableError(Exception):
    """No usable answer from the model; the reason is in the message."""


class ReplyModel(Protocol):
    """What the classification use case needs from a model."""

    name: str

    async def classify(self, text: str, subject: str | None, today: date) -> Classification: ...


class ClaudeReplyModel:
    """`ReplyModel` backed by the Anthropic Messages API (the official SDK)."""

    def __init__(self, client: anthropic.AsyncAnthropic, model: str) -> None:
        self._client = client
        self.name = model

    @classmethod
    def from_key(
        cls, api_key: str, model: str, *, base_url: str | None = None, timeout: float = 30.0
    ) -> ClaudeReplyModel:
        client = anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=3)
        return cls(client, model)

    async def classify(self, text: str, subject: str | None, today: date) -> Classification:
        prompt = f"Today: {today.isoformat()}\nSubject: {subject or '(none)'}\n\nReply:\n{text[:MAX_REPLY_CHARS]}"
        try:
            message = await self._client.messages.create(
                model=self.name,
                max_tokens=600,
                # The instructions never change: cached, so each reply pays only for its own words.
                system=[{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
                tools=[{"name": TOOL, "description": "Record the reply's category.", "input_schema": _schema()}],
                tool_choice={"type": "tool", "name": TOOL},
                messages=[{"role": "user", "content": prompt}],
            )
        except anthropic.APIError as error:
            raise ModelUnavailableError(f"{type(error).__name__}: {error}") from error
        block = next((b for b in message.content if b.type == "tool_use" and b.name == TOOL), None)
        if block is None:
            raise ModelUnavailableError(f"no {TOOL} call (stop_reason {message.stop_reason})")
        try:
            answer = ModelVerdict.model_validate(block.input)
        except ValidationError as error:
            raise ModelUnavailableError(f"invalid answer: {error.error_count()} errors") from error
        return Classification(
            answer.category,
            answer.confidence,
            answer.reasoning,
            answer.key_phrase,
            answer.return_date,
            answer.referral_email.lower() if answer.referral_email else None,
        )


def _schema() -> dict[str, Any]:
    return ModelVerdict.model_json_schema()
