"""`email.sent` → sent_emails and the lead's stage, group-committed: a burst is applied once per event with
stages that only move forward, a redelivered duplicate is skipped, and a poison event in a burst is
dead-lettered alone while the others are applied. Real nats-server and Postgres; the service in-process."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from nats.js.client import JetStreamContext
from replies_helpers import eventually, publish, rows, sent
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream_shared.events import EmailSent
from coldstream_shared.streams import stream_for
from coldstream_shared.subjects import dead_letter_subject
from replies.actions import SERVICE
from replies.store import lead_stages, processed, sent_emails

pytestmark = pytest.mark.integration

CONSUMER = "replies--email-sent"


async def stages_of(database_url: str, campaign_id: str) -> dict[str, str]:
    found = await rows(database_url, select(lead_stages.c.lead_id, lead_stages.c.stage).where(
        lead_stages.c.campaign_id == campaign_id))  # fmt: skip
    return dict(found)


async def sent_count(database_url: str, events: list[EmailSent]) -> dict[Any, int]:
    query = (
        select(sent_emails.c.event_id, func.count())
        .where(sent_emails.c.event_id.in_([e.event_id for e in events]))
        .group_by(sent_emails.c.event_id)
    )
    return dict(await rows(database_url, query))


async def claimed(database_url: str, events: list[EmailSent]) -> int:
    query = select(func.count()).where(processed.c.event_id.in_([e.event_id for e in events]))
    return int((await rows(database_url, query))[0][0])


async def drained(js: JetStreamContext) -> None:
    """Until replies' email.sent consumer has settled everything delivered to it."""
    async with asyncio.timeout(120):
        while True:
            info = await js.consumer_info(stream_for("email.sent").name, CONSUMER)
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.1)


async def plant_stages(database_url: str, campaign_id: str, stages: dict[str, str]) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                insert(lead_stages),
                [{"lead_id": k, "campaign_id": campaign_id, "stage": v, "reason": "-"} for k, v in stages.items()],
            )
    finally:
        await engine.dispose()


async def dead_letters(js: JetStreamContext, campaign_id: str, expected: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    sub = await js.subscribe(dead_letter_subject(SERVICE, "email.sent"), stream="DLQ", ordered_consumer=True)
    try:
        async with asyncio.timeout(60):
            while len(found) < expected:
                record = json.loads((await sub.next_msg(timeout=60)).data)
                if json.loads(record["original_body"])["campaign_id"] == campaign_id:
                    found.append(record)
    finally:
        await sub.unsubscribe()
    return found


Service = Callable[..., AbstractAsyncContextManager[Any]]


@pytest.fixture
def campaign() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


async def test_a_burst_is_applied_once_each_stages_only_move_forward_and_a_duplicate_is_skipped(
    replies_service: Service, js: JetStreamContext, campaign: str
) -> None:
    tag = campaign[2:]
    async with replies_service() as (_, _, database_url):
        # Stages already there: one ahead of its touch, one behind, one out of the sequence (a reply came).
        await plant_stages(
            database_url,
            campaign,
            {f"ahead-{tag}": "touch_2_sent", f"behind-{tag}": "touch_1_sent", f"replied-{tag}": "replied_interested"},
        )
        burst = [sent(f"p{i}-{tag}@acme.io", campaign, f"p{i}-{tag}") for i in range(40)]
        # One lead's three touches in the same burst, published in reverse: the furthest stands.
        burst += [sent(f"all-{tag}@acme.io", campaign, f"all-{tag}", step) for step in (3, 2, 1)]
        burst += [
            sent(f"ahead-{tag}@acme.io", campaign, f"ahead-{tag}", 1),
            sent(f"behind-{tag}@acme.io", campaign, f"behind-{tag}", 2),
            sent(f"replied-{tag}@acme.io", campaign, f"replied-{tag}", 2),
        ]
        await asyncio.gather(*(publish(js, event) for event in burst))

        async def all_claimed() -> bool:
            return await claimed(database_url, burst) == len(burst)

        await eventually(all_claimed)
        assert await sent_count(database_url, burst) == {e.event_id: 1 for e in burst}
        expected = {
            **{f"p{i}-{tag}": "touch_1_sent" for i in range(40)},
            f"all-{tag}": "touch_3_sent",
            f"ahead-{tag}": "touch_2_sent",
            f"behind-{tag}": "touch_2_sent",
            f"replied-{tag}": "replied_interested",
        }
        assert await stages_of(database_url, campaign) == expected

        # The same event again (a publisher's retry past the dedup window), here claiming a later touch: skipped.
        duplicate = burst[0].model_copy(update={"step": 3})
        await js.publish(
            duplicate.subject, duplicate.model_dump_json().encode(), headers={"Nats-Msg-Id": str(uuid.uuid4())}
        )
        await drained(js)
        assert await stages_of(database_url, campaign) == expected
        assert await sent_count(database_url, [duplicate]) == {duplicate.event_id: 1}


async def test_a_poison_event_in_a_burst_is_dead_lettered_alone_and_the_rest_applied(
    replies_service: Service, js: JetStreamContext, campaign: str
) -> None:
    tag = campaign[2:]
    async with replies_service() as (_, _, database_url):
        good = [sent(f"p{i}-{tag}@acme.io", campaign, f"p{i}-{tag}") for i in range(40)]
        # A lead id longer than the column: Postgres refuses the value (SQLSTATE 22001), on every delivery.
        poison = sent(f"poison-{tag}@acme.io", campaign, "x" * 100)
        burst = [*good[:20], poison, *good[20:]]
        await asyncio.gather(*(publish(js, event) for event in burst))

        [record] = await dead_letters(js, campaign, expected=1)
        assert json.loads(record["original_body"])["event_id"] == str(poison.event_id)
        assert "StringDataRightTruncation" in record["error"] or "too long" in record["error"]
        assert record["deliveries"] == 1  # a data exception: parked at once, not retried
        await drained(js)
        assert await sent_count(database_url, good) == {e.event_id: 1 for e in good}
        assert await stages_of(database_url, campaign) == {f"p{i}-{tag}": "touch_1_sent" for i in range(40)}
        assert await claimed(database_url, [poison]) == 0  # its transaction rolled back with the claim
