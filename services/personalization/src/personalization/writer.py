"""The port every sequence writer implements (the template writer offline, the Claude writer with a key)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from coldstream_shared.events import Touch
from personalization.brief import ResearchBrief
from personalization.campaign import Campaign
from personalization.prompts import PromptVersion


@dataclass(frozen=True)
class CallRecord:
    """One model call, for the cost log and span attributes (never the content)."""

    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    latency_ms: int
    cost_usd: float
    stop_reason: str | None
    outcome: Literal["ok", "unusable"]


@dataclass(frozen=True)
class WriteRequest:
    """Everything a writer gets: the brief, the campaign, which variant, and feedback from a failed gate."""

    brief: ResearchBrief
    campaign: Campaign
    prompt: PromptVersion
    variant: int = 1
    feedback: tuple[str, ...] = ()


@dataclass(frozen=True)
class Written:
    """A written sequence plus what the writer says about it and what it cost."""

    touches: list[Touch]
    framework: str | None = None
    personalization_level: str | None = None
    calls: list[CallRecord] = field(default_factory=list)


class UnusableAnswerError(Exception):
    """The model's answer could not be used even after one retry (truncated, or it broke the schema)."""

    def __init__(self, reason: str, calls: list[CallRecord]) -> None:
        super().__init__(reason)
        self.calls = calls


class SequenceWriter(Protocol):
    """Writes a lead's whole sequence (one touch per campaign step) for one campaign."""

    writer: Literal["template", "llm"]  # as recorded on `email.generated`
    model: str

    def prompt_version(self, prompt: PromptVersion) -> str:
        """The version label recorded with every sequence this writer writes."""
        ...

    async def write(self, request: WriteRequest) -> Written:
        """The touches, in step order. Raises PermanentError when the campaign itself is unusable,
        TransientError when the model is unreachable, UnusableAnswerError when its answer is unusable."""
        ...
