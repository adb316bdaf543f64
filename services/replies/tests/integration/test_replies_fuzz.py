"""Property-based fuzzing of POST /webhooks/instantly: never a 5xx, never a lost or doubled valid event."""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from coldstream_shared.migrations import upgrade
from replies.main import RepliesApp, create_app
from replies.settings import RepliesSettings
from replies.store import webhook_inbox
from replies.webhooks import dedup_key

pytestmark = pytest.mark.integration

SECRET = "fuzz-secret"
LIMIT = 16 * 1024  # a small body limit so "near and over the limit" stays cheap to generate
KNOWN_TYPES = (
    "email_sent",
    "email_opened",
    "email_link_clicked",
    "link_clicked",
    "reply_received",
    "auto_reply_received",
    "email_bounced",
    "lead_unsubscribed",
    "campaign_completed",
    "account_error",
    "lead_interested",
    "lead_not_interested",
    "lead_meeting_booked",
)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# JSON values as Python builds them (json.dumps turns NaN/Infinity into the non-standard tokens Python accepts).
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20
)
wrong_types = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.lists(scalars, max_size=3)
    | st.dictionaries(st.text(max_size=5), scalars, max_size=3)
)
nasty_text = st.text(alphabet=st.sampled_from(["\x00", "\ud800", "\udfff", "a", "\\", "x", "é", "😀"]))


@pytest.fixture
async def service(nats_url: str, fresh_database_url: str, tmp_path: Path) -> AsyncIterator[RepliesApp]:
    await asyncio.to_thread(upgrade, "replies", fresh_database_url)
    settings_ = RepliesSettings(
        nats_url=nats_url,
        database_url=fresh_database_url,
        data_dir=tmp_path,
        webhook_secret=SECRET,
        webhook_max_body_bytes=LIMIT,
    )
    app = create_app(settings_)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture
async def http(service: RepliesApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=service), base_url="http://replies.test") as client:
        yield client


@pytest.fixture
async def inbox(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(fresh_database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def post(http: httpx.AsyncClient, body: bytes) -> httpx.Response:
    response = await http.post("/webhooks/instantly", content=body, headers={"X-Webhook-Secret": SECRET})
    assert response.status_code < 500, (response.status_code, response.text, body[:300])
    return response


async def rows(engine: AsyncEngine, key: str | None = None) -> int:
    query = select(func.count()).select_from(webhook_inbox)
    if key is not None:
        query = query.where(webhook_inbox.c.dedup_key == key)
    async with engine.connect() as conn:
        return (await conn.execute(query)).scalar_one()


def valid_event(extra: dict[str, Any], event_type: str, text: str) -> dict[str, Any]:
    return {
        **extra,
        "event_type": event_type,
        "timestamp": "2025-03-01T10:00:00.000Z",
        "workspace": "ws-fuzz",
        "campaign_id": f"c-{uuid.uuid4().hex[:8]}",
        "lead_email": f"fuzz-{uuid.uuid4().hex[:10]}@globex.test",
        "email_id": uuid.uuid4().hex,
        "reply_text": text,
    }


def storable(value: Any) -> bool:
    """What Postgres JSONB accepts: no NUL, no lone surrogates, no NaN/Infinity (nesting here stays shallow)."""
    if isinstance(value, dict):
        return all(storable(key) and storable(item) for key, item in value.items())
    if isinstance(value, list):
        return all(storable(item) for item in value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= char <= "\udfff" for char in value)
    return True


@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(lambda value: json.dumps(value).encode()))
async def test_random_bodies_never_5xx(http: httpx.AsyncClient, body: bytes) -> None:
    await post(http, body)


@FUZZ
@given(
    event_type=st.sampled_from(KNOWN_TYPES) | wrong_types | st.text(),
    lead_email=st.sampled_from(["a@b.test", "", "@", "no-at"]) | wrong_types | st.text(),
    timestamp=st.sampled_from(["2025-13-45T99:00", "yesterday", "", "9999-12-31T23:59:59-23:59"]) | json_values,
    others=st.dictionaries(
        st.sampled_from(["campaign_id", "email_id", "step", "reply_text", "reply_subject", "workspace"]), json_values
    ),
)
async def test_wrong_types_for_known_fields_never_5xx(
    http: httpx.AsyncClient, event_type: Any, lead_email: Any, timestamp: Any, others: dict[str, Any]
) -> None:
    payload = {**others, "event_type": event_type, "lead_email": lead_email, "timestamp": timestamp}
    response = await post(http, json.dumps(payload).encode())
    if response.status_code != 200:
        assert response.status_code == 400
        assert response.json()["error"]


@FUZZ
@given(
    size=st.integers(min_value=LIMIT - 400, max_value=LIMIT + 400),
    char=st.sampled_from(["x", "é", "😀", "\\u00e9", "\n", "\\ud83d\\ude00"]),
)
async def test_bodies_near_the_limit(http: httpx.AsyncClient, size: int, char: str) -> None:
    head = json.dumps(valid_event({}, "reply_received", "")).encode()[:-3]  # ends inside `"reply_text": "`
    filler = (char * (size // len(char.encode()) + 1)).encode()
    body = (head + filler)[: max(size - 2, len(head))] + b'"}'
    response = await post(http, body)
    if len(body) > LIMIT:
        assert response.status_code == 413
    else:
        assert response.status_code in {200, 400}


@FUZZ
@given(
    depth=st.integers(min_value=1, max_value=5000),
    opener=st.sampled_from([b"[", b'{"a":']),
)
async def test_deeply_nested_bodies(http: httpx.AsyncClient, depth: int, opener: bytes) -> None:
    closer = b"]" if opener == b"[" else b"}"
    nested = opener * depth + b"1" + closer * depth
    await post(http, b'{"event_type":"email_opened","lead_email":"a@b.test","deep":' + nested + b"}")


@FUZZ
@given(
    extra=st.dictionaries(st.text(max_size=10).filter(lambda k: k not in {"event_type"}), json_values, max_size=4),
    event_type=st.sampled_from(KNOWN_TYPES) | st.text(min_size=1, max_size=100).filter(str.strip),
    text=st.text(max_size=300) | nasty_text,
)
async def test_every_valid_event_is_stored_exactly_once(
    http: httpx.AsyncClient, inbox: AsyncEngine, extra: dict[str, Any], event_type: str, text: str
) -> None:
    payload = valid_event(extra, event_type, text)
    body = json.dumps(payload).encode()
    first = await post(http, body)
    # Surrogate pairs join on decoding, so judge what the body decodes to. Unstorable: 400 with a reason.
    if not storable(json.loads(body)):
        assert first.status_code == 400, first.text
        assert first.json()["error"]
        return
    assert first.status_code == 200, first.text
    again = await post(http, body)
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert await rows(inbox, dedup_key(payload)) == 1


@pytest.mark.parametrize(
    "timestamp", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2025-02-29T10:00:00Z", 1e308, -1]
)
async def test_extreme_timestamps_on_a_reply(http: httpx.AsyncClient, inbox: AsyncEngine, timestamp: Any) -> None:
    payload = valid_event({"timestamp": timestamp}, "reply_received", "Not right now, back on December 31")
    payload["timestamp"] = timestamp
    response = await post(http, json.dumps(payload).encode())
    assert response.status_code == 200, response.text
    assert await rows(inbox, dedup_key(payload)) == 1
