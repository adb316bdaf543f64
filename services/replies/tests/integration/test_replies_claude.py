"""Claude for what the rules leave ambiguous: the real anthropic SDK against the local fake of the Messages API."""

from __future__ import annotations

from typing import Any

import pytest
from replies_helpers import matching, post, rows, unique_email, webhook, where

from coldstream.fakes.anthropic import FakeAnthropic
from coldstream_shared import subjects
from replies.store import inbound_replies

pytestmark = pytest.mark.integration
MODEL = "claude-test-model"


def said(request: dict[str, Any]) -> str:
    return str(request["messages"][0]["content"])


def model(request: dict[str, Any]) -> dict[str, Any]:
    """A stand-in model: answers by what the reply says; `BROKEN` gets an answer of the wrong shape."""
    if "BROKEN" in said(request):
        return {"category": "maybe", "confidence": 7}
    if "colleague" in said(request):
        return {
            "category": "referral",
            "confidence": 0.9,
            "reasoning": "names a colleague",
            "key_phrase": "talk to Ana",
            "referral_email": "Ana@Globex.test",
        }
    return {"category": "question", "confidence": 0.82, "reasoning": "asks how it compares", "key_phrase": "how"}


def settings_for(fake: FakeAnthropic) -> dict[str, Any]:
    return {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": fake.base_url, "replies_model": MODEL}


async def test_ambiguous_reply_is_classified_by_the_model(replies_service: Any, js: Any) -> None:
    email = unique_email()
    async with FakeAnthropic(model) as fake, replies_service(**settings_for(fake)) as (_, http, database_url):
        await post(http, webhook("reply_received", email, reply_text="We use Acme today. Why would we switch"))
        [classified] = await matching(js, subjects.REPLY_CLASSIFIED, lambda e: e["email"] == email, settle=0.5)
        assert (classified["category"], classified["classifier"], classified["confidence"]) == (
            "question",
            MODEL,
            0.82,
        )
        request = fake.requests[-1]
        assert request["tool_choice"] == {"type": "tool", "name": "record_classification"}
        assert request["system"][0]["cache_control"] == {"type": "ephemeral"}
        [row] = await rows(database_url, where(inbound_replies, email=email))
        assert (row.status, row.classifier) == ("classified", MODEL)


async def test_opt_outs_bounces_and_auto_replies_never_reach_the_model(replies_service: Any, js: Any) -> None:
    opted_out, away = unique_email(), unique_email()
    async with FakeAnthropic(model) as fake, replies_service(**settings_for(fake)) as (_, http, _):
        await post(http, webhook("reply_received", opted_out, reply_text="Por favor, darme de baja de esta lista."))
        await post(http, webhook("reply_received", away, reply_text="I'm on vacation until June 3rd."))
        [unsub] = await matching(js, subjects.REPLY_CLASSIFIED, lambda e: e["email"] == opted_out)
        [ooo] = await matching(js, subjects.REPLY_CLASSIFIED, lambda e: e["email"] == away)
        assert (unsub["category"], unsub["classifier"]) == ("unsubscribe", "rules/v1")
        assert (ooo["category"], ooo["classifier"]) == ("out_of_office", "rules/v1")
        await matching(js, subjects.LEAD_UNSUBSCRIBED, lambda e: e["email"] == opted_out)
        assert not any(opted_out in said(r) or "vacation" in said(r) for r in fake.requests)


async def test_a_malformed_answer_falls_back_to_the_rules(replies_service: Any, js: Any) -> None:
    email = unique_email()
    async with FakeAnthropic(model) as fake, replies_service(**settings_for(fake)) as (_, http, _):
        await post(http, webhook("reply_received", email, reply_text="BROKEN but sounds good, tell me more"))
        [classified] = await matching(js, subjects.REPLY_CLASSIFIED, lambda e: e["email"] == email, settle=0.5)
        assert (classified["category"], classified["classifier"]) == ("interested", "rules/v1")
        assert "model unavailable" in classified["reasoning"]


async def test_an_overloaded_api_is_retried_by_the_sdk(replies_service: Any, js: Any) -> None:
    email = unique_email()
    async with FakeAnthropic(model) as fake, replies_service(**settings_for(fake)) as (_, http, _):
        fake.fail_next(529, times=1)
        await post(http, webhook("reply_received", email, reply_text="Ask my colleague: talk to Ana, ana@globex.test"))
        [classified] = await matching(js, subjects.REPLY_CLASSIFIED, lambda e: e["email"] == email)
        assert (classified["category"], classified["classifier"]) == ("referral", MODEL)
        assert classified["referral_email"] == "ana@globex.test"
        assert len(fake.requests) >= 2
