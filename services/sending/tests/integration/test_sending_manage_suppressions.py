"""Managing the suppression list by hand: add, list, import, and a removal that always leaves an audit row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sending_testkit import Parts, email_generated, eml_files, open_parts, query, unsubscribed

from sending import manage_suppressions as manage
from sending.suppress_contact import SuppressContact
from sending.suppression import InvalidSuppressionError

pytestmark = pytest.mark.integration


@pytest.fixture
async def parts(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[Parts]:
    async with open_parts(nats_url, fresh_database_url, tmp_path) as opened:
        yield opened


async def audit(parts: Parts) -> list[tuple[str, str, str, str, str]]:
    rows = await query(
        parts.db, "SELECT value, action, actor, reason, source FROM sending.suppression_audit ORDER BY id"
    )
    return [(r.value, r.action, r.actor, r.reason, r.source) for r in rows]


async def test_add_blocks_sends_and_cancels_what_was_scheduled(parts: Parts) -> None:
    sessions, mailer = parts.runtime.sessions, parts.mailer()
    await parts.sender(mailer)(email_generated(parts.cid, "bob@prospect.com"))

    assert await manage.add(sessions, "@Prospect.com", "asked by their legal team", actor="ana")
    assert not await manage.add(sessions, "prospect.com", "again")  # already listed: the first reason stays
    await parts.sender(mailer)(email_generated(parts.cid, "carol@prospect.com"))

    rows = await query(parts.db, "SELECT email, step, status FROM sending.send_ledger ORDER BY email, step")
    assert [(r.email, r.step, r.status) for r in rows] == [
        ("bob@prospect.com", 1, "sent"),
        ("bob@prospect.com", 2, "cancelled"),
        ("carol@prospect.com", 1, "suppressed"),
        ("carol@prospect.com", 2, "cancelled"),  # a suppressed first touch ends the sequence
    ]
    assert len(eml_files(parts.outbox, parts.cid)) == 1
    [entry] = await manage.list_entries(sessions)
    assert (entry.value, entry.scope, entry.reason, entry.source) == (
        "prospect.com",
        "domain",
        "asked by their legal team",
        "manual",
    )
    assert await audit(parts) == [("prospect.com", "added", "ana", "asked by their legal team", "manual")]


async def test_removal_is_explicit_audited_and_the_only_way_out(parts: Parts) -> None:
    sessions = parts.runtime.sessions
    await SuppressContact(parts.runtime.unit_of_work)(unsubscribed("bob@prospect.com"))
    # Re-importing or re-adding never clears an entry.
    await manage.import_values(sessions, ["bob@prospect.com"], "crm re-import")
    assert [e.reason for e in await manage.list_entries(sessions)] == ["unsubscribed"]

    with pytest.raises(ValueError, match="actor and a reason"):
        await manage.remove(sessions, "bob@prospect.com", actor="ana", reason=" ")
    assert not await manage.remove(sessions, "nobody@prospect.com", actor="ana", reason="typo")
    assert await manage.remove(sessions, "Bob@Prospect.com", actor="ana", reason="unsubscribed by mistake, confirmed")

    assert await manage.list_entries(sessions) == []
    assert await audit(parts) == [
        ("bob@prospect.com", "removed", "ana", "unsubscribed by mistake, confirmed", "unsubscribe:link"),
    ]
    mailer = parts.mailer()
    await parts.sender(mailer)(email_generated(parts.cid, "bob@prospect.com"))
    assert mailer.deliveries == 1


async def test_import_adds_many_reports_the_rest_and_list_filters(parts: Parts) -> None:
    sessions = parts.runtime.sessions
    await manage.add(sessions, "dave@prospect.com", "manual")
    result = await manage.import_values(
        sessions,
        ["Eve@Other.io", "", "dave@prospect.com", "not an address", "@competitor.com", "eve@other.io"],
        "purchased do-not-contact list",
        actor="ana",
    )
    assert (result.added, result.already_listed, result.invalid) == (2, 1, ["not an address"])

    assert [e.value for e in await manage.list_entries(sessions, scope="domain")] == ["competitor.com"]
    assert [e.value for e in await manage.list_entries(sessions, contains="OTHER")] == ["eve@other.io"]
    assert {e.source for e in await manage.list_entries(sessions)} == {"manual", "import"}
    assert [a[:2] for a in await audit(parts)] == [
        ("dave@prospect.com", "added"),
        ("competitor.com", "added"),
        ("eve@other.io", "added"),
    ]
    with pytest.raises(InvalidSuppressionError):
        await manage.add(sessions, "bob@", "typo")
