"""Safety nets: the emails poll (cursor, dedup, rate limit), webhook resume, and the sweep of unapplied webhooks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from replies_helpers import all_applied, eventually, matching, post, post_applied, rows, unique_email, webhook, where
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream.fakes.instantly_inbox import FakeInstantlyInbox
from coldstream_shared import subjects
from coldstream_shared.resilience import AsyncLimiter
from replies.actions import ActionOptions, ApplyClassification
from replies.instantly import InstantlyClient
from replies.main import RepliesApp
from replies.poll_replies import CURSOR, PollReplies
from replies.record_reply import RecordReply
from replies.resume_webhooks import ResumeDisabledWebhooks
from replies.store import inbound_replies, poll_state, webhook_inbox
from replies.webhooks import dedup_key

pytestmark = pytest.mark.integration


def poller(app: RepliesApp, client: InstantlyClient) -> PollReplies:
    record = RecordReply(ApplyClassification(ActionOptions()))
    return PollReplies(app.runtime.unit_of_work, client, record, max_pages=5)


async def test_poll_records_missed_replies_once_and_keeps_its_cursor(replies_service: Any, js: Any) -> None:
    delivered, missed, auto = unique_email(), unique_email(), unique_email()
    async with FakeInstantlyInbox() as fake, replies_service() as (app, http, database_url):
        fake.add_sent(delivered)
        fake.add_reply(delivered, "Sounds good, tell me more")
        fake.add_reply(missed, "Please take me off your list")
        fake.add_reply(auto, "Thanks for your email, we will get back to you", is_auto_reply=1)
        # The webhook delivered the first reply already (Instantly's payload repeats the text).
        await post_applied(
            http, database_url, webhook("reply_received", delivered, reply_text="Sounds good, tell me more")
        )
        client = InstantlyClient(fake.api_key, fake.base_url)
        try:
            poll = poller(app, client)
            assert await poll.run_once() == 2
            assert await poll.run_once() == 0  # nothing after the cursor
            fake.add_reply(missed, "Seriously: STOP emailing me.")
            assert await poll.run_once() == 1
        finally:
            await client.close()
        [unsub, *_] = await matching(js, subjects.LEAD_UNSUBSCRIBED, lambda e: e["email"] == missed)
        assert unsub["source"] == "reply"
        sources = await rows(database_url, select(inbound_replies.c.email, inbound_replies.c.source))
        assert sorted(sources) == sorted(
            [
                (delivered, "instantly_webhook"),
                (missed, "instantly_poll"),
                (missed, "instantly_poll"),
                (auto, "instantly_poll"),
            ]
        )
        [auto_row] = await rows(database_url, where(inbound_replies, email=auto))
        assert auto_row.category == "auto_reply"
        [state] = await rows(database_url, where(poll_state, name=CURSOR))
        assert state.cursor == fake.emails[-1]["id"]
        listed = [path for method, path in fake.requests if path.startswith("/api/v2/emails")]
        assert "sort_order=asc" in listed[0]
        assert f"starting_after={fake.emails[3]['id']}" in listed[-1]


async def test_poll_pages_through_and_waits_out_a_429(replies_service: Any) -> None:
    async with FakeInstantlyInbox() as fake, replies_service() as (app, _, database_url):
        emails = [unique_email() for _ in range(150)]  # two pages of 100
        for email in emails:
            fake.add_reply(email, f"Question from {email}: how much does it cost?")
        fake.fail_next(429, {"retry-after": "0"})
        client = InstantlyClient(fake.api_key, fake.base_url, emails_limiter=AsyncLimiter(20, 60), base_delay=0.01)
        try:
            assert await poller(app, client).run_once() == 150
        finally:
            await client.close()
        assert len(await rows(database_url, select(inbound_replies.c.reply_id))) == 150


async def test_the_emails_limiter_keeps_to_twenty_requests_a_minute() -> None:
    async with FakeInstantlyInbox() as fake:
        client = InstantlyClient(fake.api_key, fake.base_url)
        try:
            limiter = client._emails  # the documented 20/minute bucket
            assert (limiter.max_rate, limiter.time_period) == (20, 60)
            for _ in range(20):
                await client.list_emails(None)
            assert not limiter.has_capacity()  # a 21st call now would wait, not hit Instantly's 429
        finally:
            await client.close()


async def test_disabled_webhooks_pointing_at_us_are_resumed() -> None:
    async with FakeInstantlyInbox() as fake:
        ours_ok = fake.add_webhook("https://replies.example.com/webhooks/instantly")
        ours_off = fake.add_webhook("https://replies.example.com/webhooks/instantly", status=-1)
        theirs_off = fake.add_webhook("https://crm.example.com/hooks/instantly", status=-1)
        client = InstantlyClient(fake.api_key, fake.base_url)
        try:
            assert await ResumeDisabledWebhooks(client).run_once() == [ours_off["id"]]
        finally:
            await client.close()
        assert [h["status"] for h in (ours_ok, ours_off, theirs_off)] == [1, 1, -1]


async def test_the_service_runs_both_safety_nets_when_a_key_is_set(replies_service: Any, js: Any) -> None:
    email = unique_email()
    async with FakeInstantlyInbox() as fake:
        disabled = fake.add_webhook("https://replies.example.com/webhooks/instantly", status=-1)
        fake.add_reply(email, "Could you send me the pricing?")
        settings = {
            "INSTANTLY_API_KEY": fake.api_key,
            "instantly_base_url": fake.base_url,
            "replies_poll_seconds": 0.5,
            "webhook_check_seconds": 0.5,
        }
        async with replies_service(**settings):
            [received] = await matching(js, subjects.REPLY_RECEIVED, lambda e: e["email"] == email)
            assert received["source"] == "instantly_poll"
            await eventually(lambda: disabled["status"] == 1)


async def test_a_webhook_stored_but_never_applied_is_applied_once_by_the_sweep(replies_service: Any, js: Any) -> None:
    unsubscribed, replied = unique_email(), unique_email()
    reply = webhook("reply_received", replied, reply_text="Tell me more")
    payloads = [webhook("lead_unsubscribed", unsubscribed), reply]
    async with replies_service(webhook_sweep_seconds=0.2) as (_, http, database_url):
        # As if the process died between the 200 and applying them.
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as conn:
                for payload in payloads:
                    await conn.execute(
                        webhook_inbox.insert().values(
                            dedup_key=dedup_key(payload),
                            event_type=payload["event_type"],
                            payload=payload,
                            received_at=datetime.now(UTC) - timedelta(minutes=5),
                        )
                    )
        finally:
            await engine.dispose()
        [event] = await matching(js, subjects.LEAD_UNSUBSCRIBED, lambda e: e["email"] == unsubscribed)
        assert event["source"] == "webhook"
        [received] = await matching(js, subjects.REPLY_RECEIVED, lambda e: e["email"] == replied)
        assert received["text"] == "Tell me more"
        await all_applied(database_url)
        # Instantly retrying the same deliveries now changes nothing.
        assert [(await post(http, payload)).json()["duplicate"] for payload in payloads] == [True, True]
        again = await matching(js, subjects.REPLY_RECEIVED, lambda e: e["email"] == replied, settle=1.0)
        assert len(again) == 1
