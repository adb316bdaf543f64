"""The service with the Claude writer (real SDK, local fake of the Messages API), NATS and Postgres."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from nats.js.client import JetStreamContext
from personalization_helpers import (
    all_until,
    cost_log,
    first_match,
    new_campaign_id,
    publish,
    started,
    stored_sequences,
    verified,
    wait_for_rows,
)
from typer.testing import CliRunner

from coldstream.cli import app
from coldstream.commands.approvals import approval
from coldstream.commands.samples import load_samples
from coldstream.fakes.anthropic import FakeAnthropic
from coldstream_shared import subjects
from coldstream_shared.campaign import PersonalizationPolicy
from coldstream_shared.events import LeadData
from coldstream_shared.migrations import upgrade
from personalization.main import create_app
from personalization.settings import PersonalizationSettings
from personalization.variants import chosen_variant

pytestmark = pytest.mark.integration
JO = LeadData(email="jo@globex.test", first_name="Jo", company="Globex", title="VP Operations")


def draft(extra: str = "") -> dict[str, Any]:
    return {
        "framework": "PAS",
        "personalization_level": "high",
        "touches": [
            {
                "subject": "Globex weekly numbers",
                "opening_line": "Hi Jo, running operations at Globex means many weekly numbers.",
                "body": "Acme Reports turns them into one short email." + extra,
                "call_to_action": "Worth a chat next week?",
            },
            {
                "subject": "Re: Globex weekly numbers",
                "opening_line": "Hi Jo, one more thought.",
                "body": "Acme Reports cut reporting time by 40% at Initech.",
                "call_to_action": "Open to a look?",
            },
        ],
    }


def asks_again(request: dict[str, Any]) -> bool:
    return "failed the quality gate" in request["messages"][0]["content"]


@dataclass
class Stack:
    database_url: str
    fake: FakeAnthropic


@pytest.fixture
async def stack(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    """The personalization app writing with Claude through the fake."""
    await asyncio.to_thread(upgrade, "personalization", fresh_database_url)
    async with FakeAnthropic(lambda _: draft()) as fake:
        settings = PersonalizationSettings(
            nats_url=nats_url,
            database_url=fresh_database_url,
            data_dir=tmp_path,
            ANTHROPIC_API_KEY="test-key",
            ANTHROPIC_BASE_URL=fake.base_url,
            anthropic_max_retries=1,
        )
        app = create_app(settings)
        await app.start()
        try:
            yield Stack(fresh_database_url, fake)
        finally:
            await app.stop()


async def test_claude_writes_the_sequence_and_its_cost_is_logged(stack: Stack, js: JetStreamContext) -> None:
    campaign_id = new_campaign_id()
    await publish(js, started(campaign_id))
    lead = verified(campaign_id, JO, company_summary="Globex ships parcels across Europe.")
    await publish(js, lead)

    generated = await first_match(js, subjects.EMAIL_GENERATED, lambda e: e["lead_id"] == lead.lead_id)
    assert (generated["writer"], generated["model"]) == ("llm", "claude-sonnet-4-6")
    assert generated["prompt_version"] == "sequence-writer/v1"
    assert (generated["framework"], generated["personalization_level"]) == ("PAS", "high")
    assert generated["quality_score"] >= 70
    assert generated["touches"][0]["body"].startswith("Hi Jo, running operations at Globex")
    assert "Summary: Globex ships parcels across Europe." in stack.fake.requests[-1]["messages"][0]["content"]

    (call,) = await cost_log(stack.database_url, campaign_id)
    assert (call.lead_id, call.model, call.prompt_version, call.outcome) == (
        lead.lead_id,
        "claude-sonnet-4-6",
        "sequence-writer/v1",
        "ok",
    )
    assert call.input_tokens > 0
    assert call.output_tokens > 0
    assert call.cost_usd > 0


async def test_an_invented_fact_is_rewritten_once_with_feedback(stack: Stack, js: JetStreamContext) -> None:
    stack.fake.respond = lambda request: draft() if asks_again(request) else draft(" Hooli loves it.")
    campaign_id = new_campaign_id()
    await publish(js, started(campaign_id))
    lead = verified(campaign_id, JO)
    await publish(js, lead)

    generated = await first_match(js, subjects.EMAIL_GENERATED, lambda e: e["lead_id"] == lead.lead_id)
    assert "Hooli" not in generated["touches"][0]["body"]
    (row,) = await stored_sequences(stack.database_url, lead.lead_id)
    assert (row.status, row.attempts) == ("generated", 2)
    feedback = next(r for r in stack.fake.requests if asks_again(r) and lead.lead_id and "Hooli" in str(r))
    assert "invented_facts" in feedback["messages"][0]["content"]


async def test_still_failing_after_the_rewrite_is_held_never_sent(stack: Stack, js: JetStreamContext) -> None:
    stack.fake.respond = lambda _: draft(" Hooli and {company} love it.")
    campaign_id = new_campaign_id()
    await publish(js, started(campaign_id))
    lead = verified(campaign_id, JO)
    await publish(js, lead)

    held = await first_match(js, subjects.EMAIL_HELD, lambda e: e["lead_id"] == lead.lead_id)
    assert held["reason_code"] == "quality_gate"
    assert held["prompt_version"] == "sequence-writer/v1"
    reasons = " ".join(held["reasons"])
    assert "Hooli" in reasons
    assert "{company}" in reasons
    (row,) = await stored_sequences(stack.database_url, lead.lead_id)
    assert (row.status, row.attempts, row.pending_event) == ("held", 2, None)
    assert len(await cost_log(stack.database_url, campaign_id)) == 2


async def test_manual_sending_waits_for_approval_then_publishes_each_sequence_once(
    stack: Stack, js: JetStreamContext
) -> None:
    campaign_id = new_campaign_id()
    await publish(js, started(campaign_id, sending_approval="manual"))
    before = [verified(campaign_id, JO.model_copy(update={"email": f"jo{n}@globex.test"})) for n in range(2)]
    for lead in before:
        await publish(js, lead)
    for lead in before:
        (row,) = await wait_for_rows(stack.database_url, lead.lead_id)
        assert row.status == "awaiting_approval"
    samples = await load_samples(stack.database_url, campaign_id, 5)
    assert {row.lead_id for row in samples} == {lead.lead_id for lead in before}
    args = ["campaign", "samples", campaign_id, "-n", "1", "--database-url", stack.database_url]
    shown = await asyncio.to_thread(CliRunner().invoke, app, args)  # the command runs its own event loop
    assert shown.exit_code == 0, shown.output
    output = " ".join(shown.output.split())  # rich wraps lines to the terminal width
    assert "awaiting_approval" in output
    assert "Subject: Globex weekly numbers" in output
    assert f"coldstream campaign approve {campaign_id} --stage sending" in output

    await publish(js, approval(campaign_id, "sending", "ana"))
    await publish(js, approval(campaign_id, "sending", "ben"))  # a second approval releases nothing again
    after = verified(campaign_id, JO.model_copy(update={"email": "jo9@globex.test"}))
    await publish(js, after)  # written after the approval: flows on at once

    seen = await all_until(js, subjects.EMAIL_GENERATED, lambda e: e["lead_id"] == after.lead_id)
    ours = [e["lead_id"] for e in seen if e["campaign_id"] == campaign_id]
    assert sorted(ours) == sorted([*(lead.lead_id for lead in before), after.lead_id])
    for lead in before:
        (row,) = await stored_sequences(stack.database_url, lead.lead_id)
        assert row.status == "generated"
        assert row.published_at is not None


async def test_variants_are_all_written_and_one_is_sent(stack: Stack, js: JetStreamContext) -> None:
    campaign_id = new_campaign_id()
    await publish(js, started(campaign_id, variants=2))
    lead = verified(campaign_id, JO)
    await publish(js, lead)

    generated = await first_match(js, subjects.EMAIL_GENERATED, lambda e: e["lead_id"] == lead.lead_id)
    assert (generated["variant"], generated["variants"]) == (chosen_variant(lead.lead_id, 2), 2)
    rows = await stored_sequences(stack.database_url, lead.lead_id)
    assert [row.variant for row in rows] == [1, 2]
    assert sorted(row.status for row in rows) == ["generated", "unused"]
    assert next(row for row in rows if row.selected).variant == generated["variant"]
    assert {row.variant for row in await cost_log(stack.database_url, campaign_id)} == {1, 2}


async def test_the_budget_stops_generation_with_one_alert(stack: Stack, js: JetStreamContext) -> None:
    campaign_id = new_campaign_id()
    await publish(js, started(campaign_id, policy=PersonalizationPolicy(budget_usd=0.000001)))
    first = verified(campaign_id, JO)
    await publish(js, first)
    await first_match(js, subjects.EMAIL_GENERATED, lambda e: e["lead_id"] == first.lead_id)

    later = [verified(campaign_id, JO.model_copy(update={"email": f"x{n}@globex.test"})) for n in range(2)]
    for lead in later:
        await publish(js, lead)
    for lead in later:
        held = await first_match(js, subjects.EMAIL_HELD, lambda e, lead=lead: e["lead_id"] == lead.lead_id)
        assert held["reason_code"] == "budget_exhausted"
    alerts = await all_until(js, subjects.CAMPAIGN_ALERT, lambda e: e["campaign_id"] == campaign_id)
    assert alerts[-1]["kind"] == "budget_exhausted"
    assert len(await cost_log(stack.database_url, campaign_id)) == 1  # nothing spent after the budget ran out
