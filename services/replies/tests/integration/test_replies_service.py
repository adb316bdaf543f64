"""Replies in-process against a real nats-server and Postgres: webhooks and links in, events out."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js.client import JetStreamContext
from replies_helpers import matching, publish
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream_shared import subjects
from coldstream_shared.events import EmailSent
from coldstream_shared.migrations import upgrade
from replies.main import RepliesApp, create_app
from replies.settings import RepliesSettings
from replies.store import sent_emails, webhook_inbox

pytestmark = pytest.mark.integration

GUARD = 60.0  # seconds: only so a broken run fails instead of hanging, never a performance claim
SECRET = "test-secret"


@pytest.fixture
async def service(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[RepliesApp]:
    await asyncio.to_thread(upgrade, "replies", fresh_database_url)
    settings = RepliesSettings(
        nats_url=nats_url, database_url=fresh_database_url, data_dir=tmp_path, webhook_secret=SECRET
    )
    app = create_app(settings)
    await app.start()
    app.database_url = fresh_database_url  # type: ignore[attr-defined]
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture
async def http(service: RepliesApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=service)
    async with httpx.AsyncClient(transport=transport, base_url="http://replies.test") as client:
        yield client


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


def webhook(event_type: str, email: str, **fields: Any) -> dict[str, Any]:
    return {
        "timestamp": "2025-03-01T10:00:00.000Z",
        "event_type": event_type,
        "workspace": "ws-test",
        "campaign_id": f"instantly-{uuid.uuid4().hex[:8]}",
        "campaign_name": "Test",
        "lead_email": email,
        "email_id": uuid.uuid4().hex,
        **fields,
    }


def unique_email() -> str:
    return f"jo-{uuid.uuid4().hex[:10]}@globex.test"


async def post(http: httpx.AsyncClient, payload: Any, secret: str | None = SECRET, **kw: Any) -> httpx.Response:
    headers = {"X-Webhook-Secret": secret} if secret is not None else {}
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return await http.post("/webhooks/instantly", content=content, headers=headers, **kw)


async def scalar(database_url: str, query: Any) -> Any:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(query)).scalar_one()
    finally:
        await engine.dispose()


async def test_health(http: httpx.AsyncClient) -> None:
    response = await http.get("/health")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_same_webhook_ten_times_is_one_reply(service: RepliesApp, http: httpx.AsyncClient, js: Any) -> None:
    email = unique_email()
    payload = webhook("reply_received", email, reply_text="Sounds good, tell me more", reply_subject="Re: idea")
    responses = [await post(http, payload) for _ in range(10)]
    assert [r.status_code for r in responses] == [200] * 10
    assert [r.json()["duplicate"] for r in responses] == [False] + [True] * 9

    received = await matching(js, subjects.REPLY_RECEIVED, lambda e: e["email"] == email, settle=1.0)
    assert len(received) == 1
    assert received[0]["source"] == "instantly_webhook"
    assert received[0]["text"] == "Sounds good, tell me more"
    assert received[0]["lead_id"] is None  # we never emailed this address: still emitted
    classified = await matching(js, subjects.REPLY_CLASSIFIED, lambda e: e["email"] == email)
    assert (classified[0]["category"], classified[0]["classifier"]) == ("interested", "rules/v1")
    assert classified[0]["causation_id"] == received[0]["event_id"]
    stored = (
        select(func.count()).select_from(webhook_inbox).where(webhook_inbox.c.payload["lead_email"].astext == email)
    )
    assert await scalar(service.database_url, stored) == 1  # type: ignore[attr-defined]


async def test_concurrent_replays_are_applied_once(service: RepliesApp, http: httpx.AsyncClient, js: Any) -> None:
    email = unique_email()
    payload = webhook("reply_received", email, reply_text="Can we schedule a call?")
    responses = await asyncio.gather(*(post(http, payload) for _ in range(5)))
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 4
    received = await matching(js, subjects.REPLY_RECEIVED, lambda e: e["email"] == email, settle=1.0)
    assert len(received) == 1


@pytest.mark.parametrize("secret", [None, "wrong", ""])
async def test_wrong_or_missing_secret_is_401(http: httpx.AsyncClient, secret: str | None) -> None:
    response = await post(http, webhook("reply_received", unique_email(), reply_text="hi"), secret=secret)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"{oops", 400), (b"[]", 400), (b"{}", 400), (b'{"event_type": "reply_received"}', 400)],
)
async def test_malformed_bodies(http: httpx.AsyncClient, body: bytes, status: int) -> None:
    response = await post(http, body)
    assert response.status_code == status
    assert "error" in response.json()


async def test_body_limit(http: httpx.AsyncClient) -> None:
    huge = webhook("reply_received", unique_email(), reply_text="x" * (300 * 1024))
    assert (await post(http, huge)).status_code == 413


async def test_other_event_types_are_stored_only(service: RepliesApp, http: httpx.AsyncClient) -> None:
    email = unique_email()
    for event_type in ("email_sent", "email_opened", "link_clicked", "email_link_clicked", "something_new"):
        assert (await post(http, webhook(event_type, email))).status_code == 200
    stored = (
        select(func.count()).select_from(webhook_inbox).where(webhook_inbox.c.payload["lead_email"].astext == email)
    )
    assert await scalar(service.database_url, stored) == 5  # type: ignore[attr-defined]


async def test_lead_unsubscribed_webhook_is_attributed(service: RepliesApp, http: httpx.AsyncClient, js: Any) -> None:
    email, campaign_id, lead_id = unique_email(), f"c-{uuid.uuid4().hex[:8]}", f"lead-{uuid.uuid4().hex[:8]}"
    sent = EmailSent.originate(
        producer="test",
        key=lead_id,
        lead_id=lead_id,
        campaign_id=campaign_id,
        email=email.upper(),
        step=1,
        backend="instantly",
        message_id="m-1",
        unsubscribe_token=uuid.uuid4().hex,
    )
    await publish(js, sent)
    async with asyncio.timeout(GUARD):  # the projection is asynchronous
        while not await scalar(service.database_url, select(func.count()).where(sent_emails.c.lead_id == lead_id)):  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)

    assert (await post(http, webhook("lead_unsubscribed", email))).status_code == 200
    [event] = await matching(js, subjects.LEAD_UNSUBSCRIBED, lambda e: e["email"] == email)
    assert (event["source"], event["lead_id"], event["campaign_id"]) == ("webhook", lead_id, campaign_id)


async def test_opt_out_reply_and_bounce(http: httpx.AsyncClient, js: Any) -> None:
    opted_out, bounced = unique_email(), unique_email()
    await post(http, webhook("reply_received", opted_out, reply_text="Please remove me from your list"))
    await post(http, webhook("email_bounced", bounced))
    [unsubscribed] = await matching(js, subjects.LEAD_UNSUBSCRIBED, lambda e: e["email"] == opted_out)
    assert unsubscribed["source"] == "reply"
    [bounce] = await matching(js, subjects.LEAD_BOUNCED, lambda e: e["email"] == bounced)
    assert bounce["bounce_type"] == "hard"


async def test_unsubscribe_link(service: RepliesApp, http: httpx.AsyncClient, js: Any) -> None:
    email, token, lead_id = unique_email(), uuid.uuid4().hex, f"lead-{uuid.uuid4().hex[:8]}"
    sent = EmailSent.originate(
        producer="test",
        key=lead_id,
        lead_id=lead_id,
        campaign_id="c-link",
        email=email,
        step=1,
        backend="file",
        message_id="m-2",
        unsubscribe_token=token,
    )
    await publish(js, sent)
    async with asyncio.timeout(GUARD):
        while (page := await http.get(f"/unsubscribe/{token}")).status_code == 404:
            await asyncio.sleep(0.05)
    assert page.status_code == 200
    assert '<form method="post">' in page.text
    assert token not in page.text

    for _ in range(3):  # one-click (RFC 8058), then the form, then a repeat: one event
        done = await http.post(
            f"/unsubscribe/{token}",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 200
        assert "unsubscribed" in done.text
    events = await matching(js, subjects.LEAD_UNSUBSCRIBED, lambda e: e["email"] == email, settle=1.0)
    assert len(events) == 1
    assert (events[0]["source"], events[0]["lead_id"]) == ("link", lead_id)


async def test_unknown_unsubscribe_token_is_404(http: httpx.AsyncClient) -> None:
    assert (await http.get("/unsubscribe/nope")).status_code == 404
    assert (await http.post("/unsubscribe/nope")).status_code == 404
