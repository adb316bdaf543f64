"""HTTP edge behaviour with fake use cases: no broker, no database."""

from __future__ import annotations

from typing import Any

import httpx

from replies.settings import RepliesSettings
from replies.web import build_web
from replies.webhooks import Webhook


class FakeBroker:
    def __init__(self, connected: bool) -> None:
        self.connected = connected

    async def ping(self, timeout: float) -> bool:
        return self.connected


class FakeIngest:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.seen: list[Webhook] = []

    async def __call__(self, hook: Webhook) -> bool:
        if self.fail:
            raise ConnectionError("database down")
        self.seen.append(hook)
        return True


def client(connected: bool = True, ingest: Any = None, **settings: Any) -> httpx.AsyncClient:
    app = build_web(RepliesSettings(**settings), FakeBroker(connected), ingest or FakeIngest(), unsubscribe=None)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://replies.test")


async def test_health_is_503_without_the_broker() -> None:
    async with client(connected=False) as http:
        response = await http.get("/health")
    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


async def test_no_secret_configured_accepts() -> None:
    ingest = FakeIngest()
    async with client(ingest=ingest) as http:
        response = await http.post("/webhooks/instantly", json={"event_type": "email_opened"})
    assert response.status_code == 200
    assert ingest.seen[0].event_type == "email_opened"


async def test_custom_header_name() -> None:
    async with client(webhook_secret="s", webhook_secret_header="X-Instantly-Token") as http:
        ok = await http.post("/webhooks/instantly", json={"event_type": "x"}, headers={"X-Instantly-Token": "s"})
        refused = await http.post("/webhooks/instantly", json={"event_type": "x"}, headers={"X-Webhook-Secret": "s"})
    assert (ok.status_code, refused.status_code) == (200, 401)


async def test_body_limit_is_413() -> None:
    async with client(webhook_max_body_bytes=100) as http:
        response = await http.post("/webhooks/instantly", json={"event_type": "x", "pad": "y" * 200})
    assert response.status_code == 413


async def test_storage_failure_is_503_so_instantly_retries() -> None:
    async with client(ingest=FakeIngest(fail=True)) as http:
        response = await http.post("/webhooks/instantly", json={"event_type": "x"})
    assert response.status_code == 503


async def test_wrong_method_and_path() -> None:
    async with client() as http:
        assert (await http.get("/webhooks/instantly")).status_code == 405
        assert (await http.get("/nope")).status_code == 404
