"""The Claude writer: the real anthropic SDK against the local fake of the Messages API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anthropic
import pytest

from coldstream.fakes.anthropic import Answer, FakeAnthropic
from coldstream_shared.campaign import Offer, Step
from coldstream_shared.errors import PermanentError, TransientError
from coldstream_shared.events import LeadData
from personalization.brief import build_brief
from personalization.campaign import Campaign
from personalization.claude_writer import ClaudeWriter
from personalization.drafts import TOOL_NAME
from personalization.limits import ModelGate, ModelLimits
from personalization.prompts import BUILTIN
from personalization.writer import UnusableAnswerError, WriteRequest

CAMPAIGN = Campaign(
    campaign_id="c-claude",
    offer=Offer(product="Acme Reports", value_proposition="weekly reports in one click"),
    steps=(Step(subject="Idea for {company}", body="..."), Step(subject="Re: {company}", body="...", delay_days=3)),
    from_name="Dana",
    from_email="dana@acme.test",
)
LEAD = LeadData(email="jo@globex.test", first_name="Jo", company="Globex", title="VP Operations")
REQUEST = WriteRequest(build_brief(LEAD, CAMPAIGN), CAMPAIGN, BUILTIN)
MODEL = "claude-sonnet-4-6"


def draft(touches: int = 2) -> dict[str, Any]:
    return {
        "framework": "PAS",
        "personalization_level": "high",
        "touches": [
            {
                "subject": f"Globex reporting {n}",
                "opening_line": "Hi Jo, running operations at Globex means many weekly numbers.",
                "body": "Acme Reports turns them into one short email.",
                "call_to_action": "Worth a chat next week?",
            }
            for n in range(1, touches + 1)
        ],
    }


@asynccontextmanager
async def claude_and_fake(respond: Any, max_retries: int = 2) -> AsyncIterator[tuple[ClaudeWriter, FakeAnthropic]]:
    """The writer on a real SDK client pointed at the fake; the client is closed first so the fake stops at once."""
    async with FakeAnthropic(respond) as fake:
        client = anthropic.AsyncAnthropic(api_key="test-key", base_url=fake.base_url, max_retries=max_retries)
        gate = ModelGate(ModelLimits(concurrency=4, requests_per_minute=None))
        try:
            yield ClaudeWriter(client, gate, model=MODEL, max_tokens=1500, temperature=0.3), fake
        finally:
            await client.close()


async def test_one_call_writes_the_whole_sequence_with_a_cached_system_prompt() -> None:
    async with claude_and_fake(lambda _: draft()) as (claude, fake):
        written = await claude.write(REQUEST)
        again = await claude.write(REQUEST)

    first, second = written.touches
    assert first.body == (
        "Hi Jo, running operations at Globex means many weekly numbers.\n\n"
        "Acme Reports turns them into one short email.\n\nWorth a chat next week?\n\nDana"
    )
    assert first.opening_line.startswith("Hi Jo")
    assert (second.step, second.delay_days) == (2, 3)  # delays come from the campaign
    assert (written.framework, written.personalization_level) == ("PAS", "high")

    request = fake.requests[0]
    assert (request["model"], request["max_tokens"], request["temperature"]) == (MODEL, 1500, 0.3)
    assert request["system"] == [{"type": "text", "text": BUILTIN.content, "cache_control": {"type": "ephemeral"}}]
    assert request["tool_choice"] == {"type": "tool", "name": TOOL_NAME}
    assert request["tools"][0]["input_schema"]["required"] == ["framework", "personalization_level", "touches"]
    assert "Company: Globex" in request["messages"][0]["content"]

    (call,) = written.calls
    assert call.cache_creation_tokens > 0
    assert call.cache_read_tokens == 0
    assert min(call.input_tokens, call.output_tokens, call.cost_usd) > 0
    assert (call.model, call.stop_reason, call.outcome) == (MODEL, "tool_use", "ok")
    assert again.calls[0].cache_read_tokens > 0  # the second lead reads the cached prompt
    assert again.calls[0].cost_usd < call.cost_usd


async def test_429_with_retry_after_and_529_are_retried_by_the_sdk() -> None:
    async with claude_and_fake(lambda _: draft()) as (claude, fake):
        fake.fail_next(429, {"retry-after": "0.05"})
        fake.fail_next(529, {"retry-after": "0.05"})
        written = await claude.write(REQUEST)
    assert len(fake.requests) == 3
    assert len(written.calls) == 1  # failed HTTP attempts carry no usage


async def test_server_errors_beyond_the_retries_are_transient() -> None:
    async with claude_and_fake(lambda _: draft(), max_retries=0) as (claude, fake):
        fake.fail_next(529, {"retry-after": "7"}, times=2)
        with pytest.raises(TransientError, match="529") as caught:
            await claude.write(REQUEST)
    assert caught.value.retry_after == 7.0
    assert len(fake.requests) == 1  # max_retries=0: no hidden second layer of retries


async def test_a_refused_request_is_permanent() -> None:
    async with claude_and_fake(lambda _: draft()) as (claude, fake):
        fake.fail_next(400)
        with pytest.raises(PermanentError, match="400"):
            await claude.write(REQUEST)


async def test_a_truncated_answer_is_asked_for_once_more() -> None:
    answers = iter([Answer(draft(), stop_reason="max_tokens"), draft()])
    async with claude_and_fake(lambda _: next(answers)) as (claude, _fake):
        written = await claude.write(REQUEST)
    assert [c.outcome for c in written.calls] == ["unusable", "ok"]
    assert len(written.touches) == 2


@pytest.mark.parametrize(
    "answer",
    [
        {"framework": "PAS", "touches": "not a list"},
        draft(touches=1),
        "plain text instead of the tool",
        Answer(draft(), stop_reason="max_tokens"),
    ],
    ids=["schema-breaking", "wrong-touch-count", "no-tool-call", "truncated"],
)
async def test_an_answer_unusable_twice_gives_up_with_the_reason(answer: Any) -> None:
    async with claude_and_fake(lambda _: answer) as (claude, fake):
        with pytest.raises(UnusableAnswerError, match="unusable twice") as caught:
            await claude.write(REQUEST)
    assert len(fake.requests) == 2
    assert [c.outcome for c in caught.value.calls] == ["unusable", "unusable"]
