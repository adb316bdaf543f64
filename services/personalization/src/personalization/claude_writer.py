"""The Claude writer: one Messages API call per lead writes the whole sequence through a tool.

The shared system prompt (and the tool before it) is marked for prompt caching, so every lead after the first
pays a tenth for it. Retries on 429/529/5xx and timeouts are the SDK's own (`max_retries`, honouring
`retry-after`); this module adds none on top. What it adds is the answer check: a truncated answer
(stop_reason `max_tokens`) or one that breaks the schema is asked for once more, then given up on.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

import anthropic
from anthropic.types import MessageParam, TextBlockParam
from opentelemetry import trace
from pydantic import ValidationError

from coldstream_shared.errors import PermanentError, TransientError
from personalization.costs import estimate_cost
from personalization.drafts import TOOL_NAME, SequenceDraft, to_touches, tool_definition
from personalization.limits import ModelGate
from personalization.prompts import PromptVersion
from personalization.writer import CallRecord, UnusableAnswerError, WriteRequest, Written

ATTEMPTS = 2  # the first answer and one retry
tracer = trace.get_tracer(__name__)


def user_message(request: WriteRequest) -> str:
    """The per-lead part of the prompt: brief, campaign settings, steps and any feedback from the gate."""
    campaign = request.campaign
    steps = "\n".join(
        f"Step {n} (sent {s.delay_days} days after the previous one). The sender's template, as guidance:\n"
        f"Subject: {s.subject}\n{s.body}"
        for n, s in enumerate(campaign.steps, start=1)
    )
    parts = [
        f"# Research brief\n{request.brief.as_text()}",
        f"# Tone\n{campaign.policy.tone}",
        f"# Steps ({len(campaign.steps)} touches)\n{steps}",
    ]
    if campaign.variants > 1:
        parts.append(
            f"# Variant\nThis is variant {request.variant} of {campaign.variants} for an A/B test: "
            "use a different angle and framework from the other variants."
        )
    if request.feedback:
        parts.append(
            "# Your previous draft failed the quality gate\nFix every point:\n"
            + "\n".join(f"- {line}" for line in request.feedback)
        )
    return "\n\n".join(parts)


class ClaudeWriter:
    """A `SequenceWriter` backed by the anthropic SDK."""

    writer: Literal["template", "llm"] = "llm"

    def __init__(
        self,
        client: anthropic.AsyncAnthropic,
        gate: ModelGate,
        *,
        model: str,
        max_tokens: int = 2048,
        temperature: float | None = None,
    ) -> None:
        self.client = client
        self.gate = gate
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature

    def prompt_version(self, prompt: PromptVersion) -> str:
        return prompt.label

    async def write(self, request: WriteRequest) -> Written:
        calls: list[CallRecord] = []
        problem = ""
        for _ in range(ATTEMPTS):
            message, record = await self._call(request)
            try:
                draft = self._draft(message, len(request.campaign.steps))
            except ValueError as error:
                problem = str(error)
                calls.append(_with_outcome(record, "unusable"))
                continue
            calls.append(record)
            touches = to_touches(draft, request.campaign.steps, request.campaign.from_name)
            return Written(touches, draft.framework, draft.personalization_level, calls)
        raise UnusableAnswerError(f"the model's answer was unusable twice: {problem}", calls)

    async def _call(self, request: WriteRequest) -> tuple[Any, CallRecord]:
        text = user_message(request)
        estimate = (len(request.prompt.content) + len(text)) // 4 + self.max_tokens
        # The system prompt is the same for every lead: cached (with the tool before it) after the first call.
        system: list[TextBlockParam] = [
            {"type": "text", "text": request.prompt.content, "cache_control": {"type": "ephemeral"}}
        ]
        messages: list[MessageParam] = [{"role": "user", "content": text}]
        async with self.gate.call(estimate):
            with tracer.start_as_current_span("anthropic.messages.create") as span:
                started = time.perf_counter()
                try:
                    message = await self.client.messages.create(
                        model=self.model,
                        max_tokens=self.max_tokens,
                        system=system,
                        tools=[tool_definition()],
                        tool_choice={"type": "tool", "name": TOOL_NAME},
                        messages=messages,
                        # The installed SDK has no `temperature` parameter (newer models fix sampling); it is
                        # sent as an extra field only when configured, for endpoints that still accept it.
                        extra_body={"temperature": self.temperature} if self.temperature is not None else None,
                    )
                except anthropic.APIError as error:
                    raise _classify(error) from error
                record = _record(self.model, message, time.perf_counter() - started)
                _annotate(span, record, request)
        return message, record

    @staticmethod
    def _draft(message: Any, steps: int) -> SequenceDraft:
        """The validated draft, or ValueError saying what was wrong with the answer."""
        if message.stop_reason == "max_tokens":
            raise ValueError("the answer was cut off at max_tokens")
        block = next((b for b in message.content if b.type == "tool_use" and b.name == TOOL_NAME), None)
        if block is None:
            raise ValueError(f"no {TOOL_NAME} tool call in the answer")
        try:
            draft = SequenceDraft.model_validate(block.input)
        except ValidationError as error:
            raise ValueError(f"the answer broke the schema: {_short(error)}") from error
        if len(draft.touches) != steps:
            raise ValueError(f"the answer has {len(draft.touches)} touches for {steps} steps")
        return draft


def _short(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5])


def _classify(error: anthropic.APIError) -> Exception:
    """After the SDK's own retries: what is worth redelivering the lead for, and what is not."""
    if isinstance(error, anthropic.APIStatusError):
        status = error.status_code
        if status == 429 or status >= 500 or status in (408, 409):
            retry_after = error.response.headers.get("retry-after")
            delay = float(retry_after) if retry_after and retry_after.replace(".", "", 1).isdigit() else None
            return TransientError(f"Anthropic answered {status} after retries", retry_after=delay)
        body = json.dumps(error.body)[:500] if error.body is not None else ""
        return PermanentError(f"Anthropic refused the request ({status}): {body}")
    return TransientError(f"Anthropic unreachable: {type(error).__name__}: {error}")


def _record(model: str, message: Any, seconds: float) -> CallRecord:
    usage = message.usage
    read = usage.cache_read_input_tokens or 0
    write = usage.cache_creation_input_tokens or 0
    return CallRecord(
        model=message.model or model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=read,
        cache_creation_tokens=write,
        latency_ms=round(seconds * 1000),
        cost_usd=estimate_cost(model, usage.input_tokens, usage.output_tokens, read, write),
        stop_reason=message.stop_reason,
        outcome="ok",
    )


def _with_outcome(record: CallRecord, outcome: Literal["ok", "unusable"]) -> CallRecord:
    return CallRecord(**{**record.__dict__, "outcome": outcome})


def _annotate(span: trace.Span, record: CallRecord, request: WriteRequest) -> None:
    """Numbers only: never the prompt, the brief or the answer."""
    span.set_attributes(
        {
            "gen_ai.system": "anthropic",
            "gen_ai.request.model": record.model,
            "gen_ai.usage.input_tokens": record.input_tokens,
            "gen_ai.usage.output_tokens": record.output_tokens,
            "gen_ai.usage.cache_read_input_tokens": record.cache_read_tokens,
            "gen_ai.usage.cache_creation_input_tokens": record.cache_creation_tokens,
            "coldstream.llm.latency_ms": record.latency_ms,
            "coldstream.llm.cost_usd": record.cost_usd,
            "coldstream.llm.stop_reason": record.stop_reason or "",
            "coldstream.prompt_version": request.prompt.label,
            "coldstream.variant": request.variant,
        }
    )
