"""Manual override from the CLI: stored with who and when, republished as `manual:<user>`, actions applied."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from replies_helpers import matching, post_applied, rows, unique_email, webhook, where
from typer.testing import CliRunner

from coldstream.cli import app as cli
from coldstream_shared import subjects
from replies.store import classification_overrides, inbound_replies

pytestmark = pytest.mark.integration


async def coldstream(*args: str) -> Any:
    # The CLI runs its own event loop: give it a thread.
    runner = CliRunner(env={"COLUMNS": "200"})
    return await asyncio.to_thread(runner.invoke, cli, list(args), catch_exceptions=False)


async def test_override_is_audited_republished_and_acted_on(replies_service: Any, js: Any, nats_url: str) -> None:
    email = unique_email()
    async with replies_service() as (_, http, database_url):
        await post_applied(http, database_url, webhook("reply_received", email, reply_text="ok"))
        [reply] = await rows(database_url, where(inbound_replies, email=email))
        assert reply.category == "neutral"
        flags = ["--database-url", database_url, "--nats-url", nats_url]

        listed = await coldstream("replies", "list", "--category", "neutral", *flags[:2])
        assert listed.exit_code == 0, listed.output
        assert str(reply.reply_id)[:8] in listed.output

        short = str(reply.reply_id)[:8]
        done = await coldstream("replies", "override", short, "unsubscribe", "--by", "dana", "--note", "phoned", *flags)
        assert done.exit_code == 0, done.output
        assert "manual:dana" in done.output

        [classified] = await matching(
            js, subjects.REPLY_CLASSIFIED, lambda e: e["email"] == email and e["classifier"] == "manual:dana"
        )
        assert (classified["category"], classified["confidence"]) == ("unsubscribe", 1.0)
        assert classified["causation_id"] == str(reply.reply_id)
        [unsubscribed] = await matching(js, subjects.LEAD_UNSUBSCRIBED, lambda e: e["email"] == email)
        assert unsubscribed["causation_id"] == classified["event_id"]

        [audit] = await rows(database_url, where(classification_overrides, reply_id=reply.reply_id))
        assert (audit.previous_category, audit.category, audit.overridden_by, audit.note) == (
            "neutral",
            "unsubscribe",
            "dana",
            "phoned",
        )
        assert audit.overridden_at is not None
        [after] = await rows(database_url, where(inbound_replies, email=email))
        assert (after.category, after.classifier) == ("unsubscribe", "manual:dana")


async def test_override_of_an_unknown_reply_is_refused(replies_service: Any, nats_url: str) -> None:
    async with replies_service() as (_, _, database_url):
        flags = ["--database-url", database_url, "--nats-url", nats_url]
        missing = await coldstream("replies", "override", "00000000", "interested", *flags)
        assert missing.exit_code == 1
        assert "no reply with id" in missing.output
        short = await coldstream("replies", "override", "abc", "interested", *flags)
        assert short.exit_code == 1
