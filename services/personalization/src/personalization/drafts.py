"""The structured answer the model gives through its tool: a pydantic model, so the schema and the validation
are the same object."""

from __future__ import annotations

from functools import cache
from typing import Literal

from anthropic.types import ToolParam
from pydantic import BaseModel, ConfigDict, Field

from coldstream_shared.campaign import Step
from coldstream_shared.events import Touch

TOOL_NAME = "write_sequence"


class TouchDraft(BaseModel):
    """One email as the model writes it."""

    model_config = ConfigDict(extra="ignore")

    subject: str = Field(min_length=1, max_length=200, description="Subject line, at most 60 characters.")
    opening_line: str = Field(min_length=1, description="Greeting and the personal first sentence.")
    body: str = Field(min_length=1, description="The middle: no greeting, opening line, call to action or signature.")
    call_to_action: str = Field(min_length=1, description="One short question.")


class SequenceDraft(BaseModel):
    """The whole sequence: one touch per campaign step, in order."""

    model_config = ConfigDict(extra="ignore")

    framework: str = Field(min_length=1, max_length=40, description="e.g. PAS, AIDA, BAB, QVC.")
    personalization_level: Literal["low", "medium", "high"]
    touches: list[TouchDraft] = Field(min_length=1, max_length=10)


@cache  # the schema never changes; building it costs milliseconds per call
def tool_definition() -> ToolParam:
    """The tool the model must call; its input schema is `SequenceDraft`'s JSON schema."""
    return {
        "name": TOOL_NAME,
        "description": "Submit the complete email sequence for this lead, one touch per step, in order.",
        "input_schema": SequenceDraft.model_json_schema(),
    }


def to_touches(draft: SequenceDraft, steps: tuple[Step, ...], sender: str) -> list[Touch]:
    """Assemble sendable emails; the delays come from the campaign, never from the model."""
    return [
        Touch(
            step=number,
            subject=" ".join(touch.subject.split()),
            body="\n\n".join(
                part.strip() for part in (touch.opening_line, touch.body, touch.call_to_action, sender) if part.strip()
            ),
            delay_days=step.delay_days,
            opening_line=touch.opening_line.strip(),
            call_to_action=touch.call_to_action.strip(),
        )
        for number, (step, touch) in enumerate(zip(steps, draft.touches, strict=True), start=1)
    ]
