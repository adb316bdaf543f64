"""`coldstream suppress ...` and `coldstream campaign pause|resume` as an operator runs them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sending_testkit import published
from typer.testing import CliRunner, Result

from coldstream.cli import app
from coldstream_shared.migrations import upgrade

pytestmark = pytest.mark.integration
runner = CliRunner()


def test_suppress_add_list_import_remove(fresh_database_url: str, tmp_path: Path) -> None:
    upgrade("sending", fresh_database_url)
    db = ["--database-url", fresh_database_url]
    added = runner.invoke(app, ["suppress", "add", "Bob@Acme.com", "--reason", "asked", "--by", "ops", *db])
    assert added.exit_code == 0, added.output
    again = runner.invoke(app, ["suppress", "add", "bob@acme.com", *db])
    assert "already suppressed" in again.output
    bad = runner.invoke(app, ["suppress", "add", "not a value", *db])
    assert bad.exit_code == 2
    source = tmp_path / "list.csv"
    source.write_text("email\n@competitor.com\ncarol@x.org\nnonsense\n")
    imported = runner.invoke(app, ["suppress", "import", str(source), *db])
    assert "2 added, 0 already listed, 1 invalid" in imported.output
    listed = runner.invoke(app, ["suppress", "list", "--scope", "domain", *db])
    assert "competitor.com" in listed.output
    assert "1 entries" in listed.output
    no_reason = runner.invoke(app, ["suppress", "remove", "bob@acme.com", *db])
    assert no_reason.exit_code != 0
    removed = runner.invoke(app, ["suppress", "remove", "bob@acme.com", "--reason", "re-opted in", "--by", "ops", *db])
    assert "removed by ops" in removed.output
    assert runner.invoke(app, ["suppress", "remove", "bob@acme.com", "--reason", "x", *db]).exit_code == 1


async def test_pause_and_resume_publish_events(nats_url: str) -> None:
    cid = "ctl-" + Path(__file__).stem[-6:] + str(id(nats_url))[-5:]
    paused = await _invoke(["campaign", "pause", cid, "--reason", "copy review", "--nats-url", nats_url])
    assert paused.exit_code == 0, paused.output
    resumed = await _invoke(["campaign", "resume", cid, "--nats-url", nats_url])
    assert resumed.exit_code == 0, resumed.output
    [event] = await published(nats_url, "campaign.paused", cid)
    assert event["reason"] == "copy review"
    assert len(await published(nats_url, "campaign.resumed", cid)) == 1


async def _invoke(args: list[str]) -> Result:
    # The command runs its own event loop: give it a thread of its own.
    return await asyncio.to_thread(runner.invoke, app, args)
