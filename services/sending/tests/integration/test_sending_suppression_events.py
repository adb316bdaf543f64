"""A suppression added by hand announces what it cancelled (`email.cancelled`), like one that came as an event.

The CLI writes the events to the sending outbox in the transaction that cancels the touches; it publishes them
when NATS answers, else the sending service's outbox relay does. A `complaint` reason is sticky.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sending_testkit import Parts, email_generated, open_parts, published, query, unsubscribed
from typer.testing import CliRunner, Result

from coldstream.cli import app
from coldstream_shared.events import LeadUnsubscribed
from sending import manage_suppressions as manage
from sending.suppress_contact import SuppressContact

pytestmark = pytest.mark.integration
runner = CliRunner()
NOBODY_LISTENING = "nats://127.0.0.1:9"


@pytest.fixture
async def parts(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Parts]:
    async with open_parts(nats_url, fresh_database_url, tmp_path) as opened:
        yield opened


async def cli(*args: str) -> Result:
    # The command runs its own event loop: give it a thread of its own.
    result = await asyncio.to_thread(runner.invoke, app, list(args))
    assert result.exit_code == 0, result.output
    return result


async def unpublished(parts: Parts) -> int:
    rows = await query(
        parts.db, "SELECT count(*) AS n FROM sending.outbox WHERE subject = 'email.cancelled' AND published_at IS NULL"
    )
    return rows[0].n


async def test_cli_add_publishes_email_cancelled_at_once(parts: Parts) -> None:
    generated = email_generated(parts.cid, "bob@prospect.com")
    await parts.sender(parts.mailer())(generated)

    await cli("suppress", "add", "bob@prospect.com", "--database-url", parts.db, "--nats-url", parts.nats)

    [cancelled] = await published(parts.nats, "email.cancelled", parts.cid)
    assert (cancelled["lead_id"], cancelled["steps"], cancelled["reason"]) == (generated.lead_id, [2], "suppressed")
    assert (cancelled["producer"], cancelled["team_id"]) == ("sending", "default")
    assert await parts.statuses() == [(1, "sent"), (2, "cancelled")]
    assert await unpublished(parts) == 0  # marked published by the command itself


async def test_without_nats_the_outbox_relay_publishes_them(parts: Parts, tmp_path: Path) -> None:
    sender = parts.sender(parts.mailer())
    for email in ("bob@prospect.com", "carol@prospect.com", "dan@elsewhere.com"):
        await sender(email_generated(parts.cid, email))
    source = tmp_path / "list.txt"
    source.write_text("@prospect.com\n")

    await cli("suppress", "import", str(source), "--database-url", parts.db, "--nats-url", NOBODY_LISTENING)

    # Committed with the cancellation, waiting for the running service's relay.
    assert await unpublished(parts) == 2
    assert await published(parts.nats, "email.cancelled", parts.cid) == []
    assert await parts.runtime.outbox.flush(older_than=timedelta(0)) == 2
    cancelled = await published(parts.nats, "email.cancelled", parts.cid)
    assert sorted(e["lead_id"] for e in cancelled) == sorted(
        email_generated(parts.cid, e).lead_id for e in ("bob@prospect.com", "carol@prospect.com")
    )
    assert all(e["steps"] == [2] for e in cancelled)
    assert await unpublished(parts) == 0


async def test_adding_again_cancels_nothing_new_and_announces_nothing(parts: Parts) -> None:
    await parts.sender(parts.mailer())(email_generated(parts.cid, "bob@prospect.com"))
    assert await manage.add(parts.runtime.sessions, "bob@prospect.com", "asked", outbox=parts.runtime.outbox)
    assert not await manage.add(parts.runtime.sessions, "bob@prospect.com", "asked", outbox=parts.runtime.outbox)
    assert len(await published(parts.nats, "email.cancelled", parts.cid)) == 1


async def test_complaint_is_a_sticky_reason(parts: Parts) -> None:
    sessions = parts.runtime.sessions
    await SuppressContact(parts.runtime.unit_of_work)(unsubscribed("bob@prospect.com"))
    await cli("suppress", "add", "bob@prospect.com", "--reason", "complaint", "--database-url", parts.db)
    assert not await manage.add(sessions, "bob@prospect.com", "manual")  # nothing replaces a complaint
    await SuppressContact(parts.runtime.unit_of_work)(unsubscribed("bob@prospect.com", scope="email"))
    [entry] = await manage.list_entries(sessions)
    assert (entry.value, entry.reason, entry.source) == ("bob@prospect.com", "complaint", "manual")
    audit = await query(parts.db, "SELECT action, reason FROM sending.suppression_audit ORDER BY id")
    assert [(r.action, r.reason) for r in audit] == [("added", "complaint")]


async def test_a_complaint_event_cancels_as_a_complaint(parts: Parts) -> None:
    generated = email_generated(parts.cid, "bob@prospect.com")
    await parts.sender(parts.mailer())(generated)
    complaint = LeadUnsubscribed.originate(
        producer="test", key="complaint:bob", email="bob@prospect.com", source="reply", reason="complaint"
    )
    await SuppressContact(parts.runtime.unit_of_work)(complaint)
    [entry] = await manage.list_entries(parts.runtime.sessions)
    assert (entry.reason, entry.source) == ("complaint", "unsubscribe:reply")
    [cancelled] = await published(parts.nats, "email.cancelled", parts.cid)
    assert (cancelled["steps"], cancelled["reason"]) == ([2], "complaint")
