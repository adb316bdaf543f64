"""Every documented Instantly webhook type with its documented payload; merged lead fields; stages from webhooks."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from replies_helpers import (
    all_applied,
    eventually,
    matching,
    post,
    post_applied,
    publish,
    rows,
    sent,
    unique_email,
    webhook,
    where,
)
from sqlalchemy import func, select

from coldstream_shared import subjects
from replies.store import inbound_replies, lead_stages, webhook_inbox

pytestmark = pytest.mark.integration

# The documented payload of each event type (developer.instantly.ai/guides/webhook-events): the base fields plus
# what that type carries. Both spellings of the click event are accepted.
SENT = {"step": 1, "variant": 1, "is_first": True, "email_account": "sender@ours.test", "email_subject": "Idea"}
DOCUMENTED: dict[str, dict[str, Any]] = {
    "email_sent": SENT | {"email_text": "Hi Jo", "email_html": "<p>Hi Jo</p>"},
    "email_opened": SENT,
    "email_link_clicked": SENT,
    "link_clicked": SENT,
    "reply_received": SENT
    | {
        "unibox_url": "https://app.instantly.ai/app/unibox?thread=1",
        "reply_text_snippet": "Happy to chat",
        "reply_subject": "Re: Idea",
        "reply_text": "Happy to chat, does Tuesday work?",
        "reply_html": "<div>Happy to chat, does Tuesday work?</div>",
    },
    "auto_reply_received": SENT
    | {"reply_subject": "Automatic reply: Idea", "reply_text": "I am out of the office until May 5th."},
    "email_bounced": SENT,
    "lead_unsubscribed": {},
    "campaign_completed": {},
    "account_error": {"email_account": "sender@ours.test"},
    "lead_neutral": {},
    "lead_interested": {},
    "lead_not_interested": {},
    "lead_meeting_booked": {},
    "lead_meeting_completed": {},
    "lead_closed": {},
    "lead_out_of_office": {},
    "lead_wrong_person": {},
    "lead_no_show": {},
    "supersearch_enrichment_completed": {},
}
NO_LEAD = {"campaign_completed", "account_error", "supersearch_enrichment_completed"}


async def test_every_documented_event_type_is_accepted_and_stored(replies_service: Any) -> None:
    email = unique_email()
    async with replies_service() as (_, http, database_url):
        for event_type, fields in DOCUMENTED.items():
            payload = webhook(event_type, None if event_type in NO_LEAD else email, **fields)
            response = await post(http, payload)
            assert response.status_code == 200, (event_type, response.text)
        unknown = await post(http, webhook("lead_custom_label_42", email, custom_interest_value=7))
        assert unknown.status_code == 200
        await all_applied(database_url)
        stored = await rows(database_url, select(webhook_inbox.c.event_type))
        assert {row.event_type for row in stored} == set(DOCUMENTED) | {"lead_custom_label_42"}
        replies = await rows(database_url, select(inbound_replies.c.category, inbound_replies.c.source))
        assert sorted(replies) == [("meeting_request", "instantly_webhook"), ("out_of_office", "instantly_webhook")]


async def test_lead_fields_merged_at_the_top_level_are_tolerated(replies_service: Any, js: Any) -> None:
    email = unique_email()
    merged = {"firstName": "Jo", "companyName": "Globex", "email": email, "phone": None, "custom_field": [1, 2]}
    payload = webhook("reply_received", None, reply_text="Tell me more please") | merged  # no lead_email at all
    async with replies_service() as (_, http, _):
        assert (await post(http, payload)).status_code == 200
        [received] = await matching(js, subjects.REPLY_RECEIVED, lambda e: e["email"] == email)
        assert received["text"] == "Tell me more please"


async def test_custom_variables_from_sending_attribute_the_reply(replies_service: Any, js: Any) -> None:
    email, lead_id, campaign_id = unique_email(), f"lead-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex[:8]}"
    payload = webhook(
        "reply_received",
        email,
        reply_text="Interested, send me more info",
        coldstream_lead_id=lead_id,
        coldstream_campaign_id=campaign_id,
    )
    async with replies_service() as (_, http, _):
        await post(http, payload)
        [classified] = await matching(js, subjects.REPLY_CLASSIFIED, lambda e: e["email"] == email)
        assert (classified["lead_id"], classified["campaign_id"]) == (lead_id, campaign_id)


async def test_same_reply_replayed_ten_times_is_one_reply_row(replies_service: Any) -> None:
    email = unique_email()
    payload = webhook("reply_received", email, reply_text="Not interested, thanks")
    async with replies_service() as (_, http, database_url):
        answers = [(await post(http, payload)).json()["duplicate"] for _ in range(10)]
        assert answers == [False] + [True] * 9
        await all_applied(database_url)
        count = select(func.count()).select_from(inbound_replies).where(inbound_replies.c.email == email)
        assert (await rows(database_url, count))[0][0] == 1


async def test_interest_webhooks_and_sends_move_the_pipeline_stage(replies_service: Any, js: Any) -> None:
    email, lead_id, campaign_id = unique_email(), f"lead-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex[:8]}"
    async with replies_service() as (_, http, database_url):
        await publish(js, sent(email, campaign_id, lead_id, step=2))

        async def stage() -> str | None:
            found = await rows(database_url, where(lead_stages, lead_id=lead_id))
            return found[0].stage if found else None

        assert await eventually(stage) == "touch_2_sent"
        await post_applied(http, database_url, webhook("lead_meeting_booked", email))
        assert await stage() == "booked"
        await post_applied(http, database_url, webhook("lead_interested", email))  # a late echo never moves it back
        assert await stage() == "booked"
        await post_applied(http, database_url, webhook("lead_unsubscribed", email))
        assert await stage() == "unsubscribed"
        await publish(js, sent(email, campaign_id, lead_id, step=3))
        [unsubscribed] = await matching(js, subjects.LEAD_UNSUBSCRIBED, lambda e: e["email"] == email)
        assert unsubscribed["lead_id"] == lead_id
        assert await stage() == "unsubscribed"
