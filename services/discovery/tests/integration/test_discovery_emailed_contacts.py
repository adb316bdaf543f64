"""`email.sent` → the contacts projection, group-committed: a burst is applied once per event, a redelivered
duplicate is skipped, and a poison event in a burst is dead-lettered alone while the others are applied.
Real nats-server and Postgres; the service runs in-process with its subscribers."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from discovery_testkit import publish, wait_for
from nats.js.client import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from coldstream_shared.events import EmailSent
from coldstream_shared.streams import stream_for
from coldstream_shared.subjects import dead_letter_subject
from discovery.import_campaign import SERVICE
from discovery.main import create_app
from discovery.settings import DiscoverySettings

pytestmark = pytest.mark.integration

CONSUMER = "discovery--email-sent"
# A real refusal by the database (SQLSTATE class 22, "data exception", as for a NUL in text) for one address.
POISON_TRIGGER = (
    """
CREATE FUNCTION discovery.refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.email LIKE 'poison-%' THEN
    RAISE EXCEPTION 'refused address %', NEW.email USING ERRCODE = '22023';
  END IF;
  RETURN NEW;
END $$""",
    "CREATE TRIGGER refuse_poison BEFORE INSERT ON discovery.contacts"
    " FOR EACH ROW EXECUTE FUNCTION discovery.refuse_poison()",
)


@pytest.fixture
async def service(database: AsyncEngine, nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[None]:
    settings = DiscoverySettings(nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path)
    app = create_app(settings)
    await app.start()
    try:
        yield
    finally:
        await app.stop()


def sent(email: str, tag: str, at: datetime, step: int = 1) -> EmailSent:
    return EmailSent.originate(
        producer="test",
        key=("sent", tag, email, step),
        lead_id=f"lead-{tag}-{email}",
        campaign_id=f"c-{tag}",
        email=email,
        step=step,
        backend="file",
        message_id=f"<{tag}-{email}-{step}>",
        occurred_at=at,
    )


async def emailed(database: AsyncEngine, tag: str) -> dict[str, datetime]:
    async with database.connect() as conn:
        found = await conn.execute(
            text("SELECT email, last_emailed_at FROM discovery.contacts WHERE email LIKE :pattern"),
            {"pattern": f"%-{tag}@%"},
        )
        return dict(found.tuples().all())


async def claimed(database: AsyncEngine, events: list[EmailSent]) -> int:
    async with database.connect() as conn:
        found = await conn.execute(
            text("SELECT count(*) FROM discovery.processed_events WHERE event_id = ANY(:ids)"),
            {"ids": [e.event_id for e in events]},
        )
        return int(found.scalar_one())


async def drained(js: JetStreamContext) -> None:
    """Until discovery's email.sent consumer has settled everything delivered to it."""
    async with asyncio.timeout(120):
        while True:
            info = await js.consumer_info(stream_for("email.sent").name, CONSUMER)
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.1)


async def dead_letters(js: JetStreamContext, tag: str, expected: int) -> list[dict[str, Any]]:
    """This test's dead letters of email.sent (the DLQ stream keeps the original body)."""
    found: list[dict[str, Any]] = []
    sub = await js.subscribe(dead_letter_subject(SERVICE, "email.sent"), stream="DLQ", ordered_consumer=True)
    try:
        async with asyncio.timeout(60):
            while len(found) < expected:
                record = json.loads((await sub.next_msg(timeout=60)).data)
                if json.loads(record["original_body"])["campaign_id"] == f"c-{tag}":
                    found.append(record)
    finally:
        await sub.unsubscribe()
    return found


async def test_a_burst_is_applied_once_each_and_a_redelivered_duplicate_is_skipped(
    service: None, database: AsyncEngine, js: JetStreamContext
) -> None:
    tag = uuid.uuid4().hex[:8]
    now = datetime.now(UTC).replace(microsecond=0)
    burst = [sent(f"p{i}-{tag}@acme.io", tag, now - timedelta(days=i % 7)) for i in range(60)]
    # Two sends to one address in the same burst, the later one published first: the latest send stands.
    burst += [sent(f"twice-{tag}@acme.io", tag, now, step=2), sent(f" Twice-{tag}@ACME.io ", tag, now - timedelta(1))]
    await asyncio.gather(*(publish(js, event) for event in burst))

    sql = "SELECT count(*) = :n FROM discovery.processed_events WHERE event_id = ANY(:ids)"
    await wait_for(database, sql, seconds=120, n=len(burst), ids=[e.event_id for e in burst])
    rows = await emailed(database, tag)
    assert rows == {
        **{f"p{i}-{tag}@acme.io": now - timedelta(days=i % 7) for i in range(60)},
        f"twice-{tag}@acme.io": now,
    }

    # The same event again (a publisher's retry past the dedup window): claimed already, so nothing changes,
    # even though this copy carries a later time.
    duplicate = burst[5].model_copy(update={"occurred_at": now + timedelta(days=1)})
    await publish(js, duplicate, msg_id=f"again-{uuid.uuid4()}")
    await drained(js)
    assert await emailed(database, tag) == rows
    assert await claimed(database, burst) == len(burst)


async def test_a_poison_event_in_a_burst_is_dead_lettered_alone_and_the_rest_applied(
    service: None, database: AsyncEngine, js: JetStreamContext
) -> None:
    async with database.begin() as conn:
        for statement in POISON_TRIGGER:
            await conn.exec_driver_sql(statement)
    tag = uuid.uuid4().hex[:8]
    now = datetime.now(UTC).replace(microsecond=0)
    good = [sent(f"p{i}-{tag}@acme.io", tag, now) for i in range(40)]
    poison = sent(f"poison-{tag}@acme.io", tag, now)
    burst = [*good[:20], poison, *good[20:]]
    await asyncio.gather(*(publish(js, event) for event in burst))

    [record] = await dead_letters(js, tag, expected=1)
    assert json.loads(record["original_body"])["event_id"] == str(poison.event_id)
    assert f"refused address poison-{tag}@acme.io" in record["error"]
    assert record["deliveries"] == 1  # a data exception: parked at once, not retried
    await drained(js)
    assert set(await emailed(database, tag)) == {event.email for event in good}
    assert await claimed(database, good) == len(good)
    assert await claimed(database, [poison]) == 0  # its transaction rolled back with the claim
