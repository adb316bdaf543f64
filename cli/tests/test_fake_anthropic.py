"""The Anthropic fake speaks the documented shapes: the real SDK parses its answers and honours its errors."""

from __future__ import annotations

import anthropic
import pytest

from coldstream.fakes.anthropic import Answer, FakeAnthropic

TOOL = {
    "name": "write_sequence",
    "description": "Return the sequence.",
    "input_schema": {"type": "object", "properties": {"subject": {"type": "string"}}, "required": ["subject"]},
}
SYSTEM = [{"type": "text", "text": "You write cold emails. " * 50, "cache_control": {"type": "ephemeral"}}]


def client(fake: FakeAnthropic, **kwargs: object) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(api_key="test-key", base_url=fake.base_url, **kwargs)  # type: ignore[arg-type]


async def test_tool_use_answer_with_usage_and_prompt_caching() -> None:
    async with FakeAnthropic(lambda request: {"subject": "Quick question"}) as fake:
        sdk = client(fake)
        for expected_creation, expected_read in ((True, False), (False, True)):
            message = await sdk.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=512,
                system=SYSTEM,  # type: ignore[arg-type]
                tools=[TOOL],  # type: ignore[list-item]
                tool_choice={"type": "tool", "name": "write_sequence"},
                messages=[{"role": "user", "content": "Write it."}],
            )
            block = message.content[0]
            assert block.type == "tool_use"
            assert block.input == {"subject": "Quick question"}
            assert message.stop_reason == "tool_use"
            assert bool(message.usage.cache_creation_input_tokens) is expected_creation
            assert bool(message.usage.cache_read_input_tokens) is expected_read
        assert "test-key" in (fake.headers[0].get("x-api-key") or fake.headers[0]["authorization"])
        assert fake.requests[0]["tool_choice"]["name"] == "write_sequence"


async def test_429_with_retry_after_is_retried_by_the_sdk_and_529_surfaces_when_retries_run_out() -> None:
    async with FakeAnthropic(lambda request: "ok") as fake:
        fake.fail_next(429, {"retry-after": "0"})
        message = await client(fake, max_retries=2).messages.create(
            model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
        assert message.content[0].type == "text"
        assert len(fake.requests) == 2
        fake.fail_next(529, {"retry-after": "0"}, times=3)
        with pytest.raises(anthropic.InternalServerError) as raised:
            await client(fake, max_retries=1).messages.create(
                model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
            )
        assert raised.value.status_code == 529


async def test_truncated_answer_and_missing_key() -> None:
    async with FakeAnthropic(lambda request: Answer('{"subject": "cut', stop_reason="max_tokens"), api_key="k") as fake:
        message = await anthropic.AsyncAnthropic(api_key="k", base_url=fake.base_url).messages.create(
            model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
        assert message.stop_reason == "max_tokens"
        with pytest.raises(anthropic.AuthenticationError):
            await client(fake, max_retries=0).messages.create(
                model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            )
