"""What each classified reply demands: events, nurture, pipeline stage, notification, Instantly interest status."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
import sqlalchemy.exc
from replies_helpers import eventually, matching, post, post_applied, publish, rows, sent, unique_email, webhook, where
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream.fakes.instantly_inbox import FakeChatWebhook, FakeInstantlyInbox
from coldstream_shared import subjects
from replies.store import inbound_replies, lead_stages, nurture, pending_actions

pytestmark = pytest.mark.integration


async def attributed(js: Any, database_url: str, email: str) -> tuple[str, str]:
    """Publish an `email.sent` for `email` and wait for the projection; returns (lead_id, campaign_id)."""
    lead_id, campaign_id = f"lead-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex[:8]}"
    await publish(js, sent(email, campaign_id, lead_id))
    await eventually(lambda: rows(database_url, where(lead_stages, lead_id=lead_id)))
    return lead_id, campaign_id


async def test_not_now_goes_to_nurture_with_the_stated_date(replies_service: Any, js: Any) -> None:
    email = unique_email()
    reply = "Not right now, we are mid-migration. Reach out again on 2025-09-15 please."
    async with replies_service() as (_, http, database_url):
        lead_id, campaign_id = await attributed(js, database_url, email)
        await post(http, webhook("reply_received", email, reply_text=reply))
        [classified] = await matching(js, subjects.REPLY_CLASSIFIED, lambda e: e["email"] == email)
        assert (classified["category"], classified["return_date"]) == ("not_now", "2025-09-15")
        assert (classified["lead_id"], classified["campaign_id"]) == (lead_id, campaign_id)
        [row] = await rows(database_url, where(nurture, email=email))
        assert (row.recontact_on, row.lead_id) == (date(2025, 9, 15), lead_id)
        [stage] = await rows(database_url, where(lead_stages, lead_id=lead_id))
        assert stage.stage == "nurture"


async def test_not_now_without_a_date_gets_the_default_delay(replies_service: Any) -> None:
    email = unique_email()
    async with replies_service(nurture_default_days=30) as (_, http, database_url):
        await post_applied(http, database_url, webhook("reply_received", email, reply_text="Maybe later, bad timing."))
        [row] = await rows(database_url, where(nurture, email=email))
        assert row.recontact_on == date(2025, 3, 31)  # the webhook's timestamp + 30 days
        assert "default 30 days" in row.note


async def test_out_of_office_carries_the_return_date_in_the_envelope(replies_service: Any, js: Any) -> None:
    email = unique_email()
    async with replies_service() as (_, http, database_url):
        lead_id, campaign_id = await attributed(js, database_url, email)
        hook = webhook("auto_reply_received", email, reply_text="I am out of the office until March 12.")
        await post(http, hook)
        [classified] = await matching(js, subjects.REPLY_CLASSIFIED, lambda e: e["email"] == email)
        assert (classified["category"], classified["return_date"]) == ("out_of_office", "2025-03-12")
        assert (classified["lead_id"], classified["campaign_id"]) == (lead_id, campaign_id)


async def test_interested_reply_notifies_and_updates_instantly(replies_service: Any, js: Any) -> None:
    email = unique_email()
    async with FakeChatWebhook() as chat, FakeInstantlyInbox() as instantly:
        settings = {"notify_webhook_url": chat.url, "INSTANTLY_API_KEY": instantly.api_key}
        async with replies_service(instantly_base_url=instantly.base_url, **settings) as (_, http, database_url):
            lead_id, _ = await attributed(js, database_url, email)
            await post(http, webhook("reply_received", email, reply_text="Sounds interesting, tell me more"))
            await eventually(lambda: chat.messages and instantly.interest_updates)
            assert email in chat.messages[0]["text"]
            assert "interested" in chat.messages[0]["text"]
            assert instantly.interest_updates == [{"lead_email": email, "interest_value": 1}]
            [stage] = await rows(database_url, where(lead_stages, lead_id=lead_id))
            assert stage.stage == "replied_interested"


async def test_a_failing_notification_endpoint_never_loses_the_reply(replies_service: Any, js: Any) -> None:
    email = unique_email()
    async with FakeChatWebhook() as chat:
        chat.fail_next(times=4)  # the first delivery's 3 tries and the next round's first: delivered on round 2
        async with replies_service(notify_webhook_url=chat.url) as (_app, http, database_url):
            await post_applied(http, database_url, webhook("reply_received", email, reply_text="Can we book a call?"))
            [reply] = await rows(database_url, where(inbound_replies, email=email))
            assert reply.category == "meeting_request"
            # Retries back off for seconds: make the queued call due now instead of waiting in the test.
            engine = create_async_engine(database_url)
            try:

                async def delivered() -> bool:
                    async with engine.begin() as conn:
                        await conn.execute(text("UPDATE replies.pending_actions SET next_attempt_at = now()"))
                        # The chat message arrives a moment before the action is marked done: wait for both.
                        done = await conn.scalar(
                            text("SELECT done_at IS NOT NULL FROM replies.pending_actions WHERE reply_id = :r"),
                            {"r": reply.reply_id},
                        )
                    return bool(chat.messages) and bool(done)

                await eventually(delivered)
            finally:
                await engine.dispose()
            [action] = await rows(database_url, where(pending_actions, reply_id=reply.reply_id))
            assert action.done_at is not None
            assert action.attempts >= 2
            assert action.failed_at is None


async def test_referral_proposes_the_named_contact(replies_service: Any, js: Any) -> None:
    email = unique_email()
    reply = "I'm not the right person for this. Please reach out to my colleague anna.berg@globex.test instead."
    async with replies_service() as (_, http, database_url):
        lead_id, campaign_id = await attributed(js, database_url, email)
        await post(http, webhook("reply_received", email, reply_text=reply))
        [proposed] = await matching(js, subjects.LEAD_PROPOSED, lambda e: e["referred_by"] == email)
        assert (proposed["email"], proposed["reason"], proposed["campaign_id"]) == (
            "anna.berg@globex.test",
            "referral",
            campaign_id,
        )
        assert proposed["lead_id"] == lead_id


async def test_unsubscribe_reply_emits_lead_unsubscribed_and_moves_the_stage(replies_service: Any, js: Any) -> None:
    email = unique_email()
    async with replies_service() as (_, http, database_url):
        lead_id, _ = await attributed(js, database_url, email)
        await post(http, webhook("reply_received", email, reply_text="Bitte aus dem Verteiler austragen."))
        [event] = await matching(js, subjects.LEAD_UNSUBSCRIBED, lambda e: e["email"] == email)
        assert (event["source"], event["lead_id"]) == ("reply", lead_id)
        [stage] = await rows(database_url, where(lead_stages, lead_id=lead_id))
        assert stage.stage == "unsubscribed"


async def test_the_stage_check_constraint_refuses_unknown_stages(replies_service: Any) -> None:
    async with replies_service() as (_, _, database_url):
        engine = create_async_engine(database_url)
        try:
            with pytest.raises(sqlalchemy.exc.IntegrityError, match="ck_lead_stages_stage"):
                async with engine.begin() as conn:
                    await conn.execute(lead_stages.insert().values(lead_id="x", stage="maybe_later", reason="test"))
        finally:
            await engine.dispose()
