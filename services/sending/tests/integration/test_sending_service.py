"""The sending service in-process against a real nats-server and Postgres."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sending_testkit import (
    campaign_id,
    campaign_started,
    email_generated,
    eml_files,
    publish,
    published,
    query,
    unsubscribed,
    wait_until,
)

from coldstream_shared.migrations import upgrade
from sending.main import create_app
from sending.settings import SendingSettings

pytestmark = pytest.mark.integration


@pytest.fixture
async def service(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    await asyncio.to_thread(upgrade, "sending", fresh_database_url)
    settings = SendingSettings(
        nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path, physical_address="Acme Ltd, 1 Main St"
    )
    app = create_app(settings)
    await app.start()
    try:
        yield {"db": fresh_database_url, "outbox": tmp_path / "outbox", "nats": nats_url}
    finally:
        await app.stop()


async def test_a_generated_sequence_leaves_as_one_file_and_one_email_sent(service: dict[str, Any]) -> None:
    cid, nats_url = campaign_id(), service["nats"]
    await publish(nats_url, campaign_started(cid))
    generated = email_generated(cid, "Bob@Prospect.com")
    assert await publish(nats_url, generated)

    sent = await wait_until(lambda: published(nats_url, "email.sent", cid))
    assert not await publish(nats_url, generated)  # the same event again: JetStream drops it

    files = eml_files(service["outbox"], cid)
    assert [f.name for f in files] == [f"1-{generated.lead_id}.eml"]
    content = files[0].read_text()
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in content
    assert "Acme Ltd, 1 Main St" in content
    assert len(sent) == 1
    assert (sent[0]["backend"], sent[0]["step"], sent[0]["email"]) == ("file", 1, "bob@prospect.com")
    assert f"/unsubscribe/{sent[0]['unsubscribe_token']}" in content
    assert sent[0]["message_id"] in content
    # The follow-up waits in the ledger with its due time.
    # Filtered by campaign: the NATS server and its durable consumers are shared by the whole test session.
    rows = await query(
        service["db"], f"SELECT step, status, due_at FROM sending.send_ledger WHERE campaign_id = '{cid}' ORDER BY step"
    )
    assert [(r.step, r.status) for r in rows] == [(1, "sent"), (2, "scheduled")]
    assert rows[1].due_at is not None


async def test_an_unsubscribed_address_is_never_emailed(service: dict[str, Any]) -> None:
    cid, nats_url, db = campaign_id(), service["nats"], service["db"]
    address = f"{cid}@prospect.com"
    await publish(nats_url, campaign_started(cid))
    await publish(nats_url, unsubscribed(address.upper()))
    await wait_until(lambda: query(db, "SELECT 1 FROM sending.suppressions WHERE value = :v", v=address))

    generated = email_generated(cid, address)
    await publish(nats_url, generated)
    suppressed = await wait_until(lambda: published(nats_url, "email.suppressed", cid))

    assert (suppressed[0]["lead_id"], suppressed[0]["scope"]) == (generated.lead_id, "email")
    assert eml_files(service["outbox"], cid) == []
    assert await published(nats_url, "email.sent", cid) == []
    statuses = await query(db, "SELECT status FROM sending.send_ledger WHERE campaign_id = :c ORDER BY step", c=cid)
    assert [r.status for r in statuses] == ["suppressed", "cancelled"]  # the sequence ends with its first touch


async def test_a_suppressed_domain_blocks_everyone_there(service: dict[str, Any]) -> None:
    cid, nats_url, db = campaign_id(), service["nats"], service["db"]
    domain = f"{cid}.example"
    await publish(nats_url, campaign_started(cid))
    await publish(nats_url, unsubscribed(f"@{domain}", scope="domain"))
    await wait_until(lambda: query(db, "SELECT 1 FROM sending.suppressions WHERE value = :v", v=domain))

    await publish(nats_url, email_generated(cid, f"someone@{domain}"))
    suppressed = await wait_until(lambda: published(nats_url, "email.suppressed", cid))
    assert suppressed[0]["scope"] == "domain"
    assert eml_files(service["outbox"], cid) == []
