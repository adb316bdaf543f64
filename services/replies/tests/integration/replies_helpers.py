"""Helpers shared by the replies integration tests (imported by name: the folder is on sys.path)."""

from __future__ import annotations

import asyncio
import inspect
import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from nats.js.client import JetStreamContext
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream_shared.events import EmailSent, Event
from replies.store import webhook_inbox
from replies.webhooks import dedup_key

GUARD = 60.0  # seconds: only so a broken run fails instead of hanging, never a performance claim
SECRET = "test-secret"


def unique_email(prefix: str = "jo") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@globex.test"


def webhook(event_type: str, email: str | None, **fields: Any) -> dict[str, Any]:
    """A payload with the documented base fields of every Instantly webhook."""
    payload: dict[str, Any] = {
        "timestamp": "2025-03-01T10:00:00.000Z",
        "event_type": event_type,
        "workspace": "ws-test",
        "campaign_id": f"instantly-{uuid.uuid4().hex[:8]}",
        "campaign_name": "Test",
        "email_id": uuid.uuid4().hex,
    }
    if email is not None:
        payload["lead_email"] = email
    return payload | fields


async def post(http: httpx.AsyncClient, payload: Any, secret: str | None = SECRET) -> httpx.Response:
    headers = {"X-Webhook-Secret": secret} if secret is not None else {}
    content = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return await http.post("/webhooks/instantly", content=content, headers=headers)


async def post_applied(http: httpx.AsyncClient, database_url: str, payload: dict[str, Any]) -> httpx.Response:
    """Post a webhook and wait until what it causes is applied (the 200 only says it is stored)."""
    response = await post(http, payload)
    assert response.status_code == 200, response.text
    applied = select(webhook_inbox.c.applied_at).where(
        webhook_inbox.c.dedup_key == dedup_key(payload), webhook_inbox.c.applied_at.is_not(None)
    )
    await eventually(lambda: rows(database_url, applied))
    return response


async def all_applied(database_url: str) -> None:
    """Wait until every stored webhook has been applied."""
    unapplied = select(func.count()).select_from(webhook_inbox).where(webhook_inbox.c.applied_at.is_(None))
    await eventually(async_not(lambda: scalar_of(database_url, unapplied)))


async def scalar_of(database_url: str, query: Any) -> Any:
    return (await rows(database_url, query))[0][0]


def async_not(check: Callable[[], Any]) -> Callable[[], Any]:
    async def negated() -> bool:
        return not await check()

    return negated


async def publish(js: JetStreamContext, event: Event) -> None:
    await js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": str(event.event_id)})


def sent(email: str, campaign_id: str, lead_id: str, step: int = 1) -> EmailSent:
    return EmailSent.originate(
        producer="test",
        key=(lead_id, step),
        lead_id=lead_id,
        campaign_id=campaign_id,
        email=email,
        step=step,
        backend="file",
        message_id=f"m-{uuid.uuid4().hex[:6]}",
        unsubscribe_token=uuid.uuid4().hex,
    )


async def matching(
    js: JetStreamContext, subject: str, match: Callable[[dict[str, Any]], bool], settle: float = 0.0
) -> list[dict[str, Any]]:
    """Every message on `subject` accepted by `match`: at least one, then whatever arrives within `settle` s."""
    found: list[dict[str, Any]] = []
    sub = await js.subscribe(subject, ordered_consumer=True)
    try:
        async with asyncio.timeout(GUARD):
            while not found:
                msg = await sub.next_msg(timeout=GUARD)
                if match(body := json.loads(msg.data)):
                    found.append(body)
        while True:
            try:
                msg = await sub.next_msg(timeout=max(settle, 0.01))
            except TimeoutError:
                return found
            if match(body := json.loads(msg.data)):
                found.append(body)
    finally:
        await sub.unsubscribe()


async def rows(database_url: str, query: Any) -> list[Any]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(query)).all())
    finally:
        await engine.dispose()


async def eventually(check: Callable[[], Any]) -> Any:
    """Poll `check` (sync or async) until it returns something truthy (loops and projections are asynchronous)."""
    async with asyncio.timeout(GUARD):
        while True:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            await asyncio.sleep(0.05)


def where(table: Any, **equals: Any) -> Any:
    return select(table).where(*(table.c[name] == value for name, value in equals.items()))
