"""Fixtures for the replies integration tests: the service in-process, an HTTP client, JetStream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js.client import JetStreamContext
from replies_helpers import SECRET

from coldstream_shared.migrations import upgrade
from replies.main import RepliesApp, create_app
from replies.settings import RepliesSettings

Started = tuple[RepliesApp, httpx.AsyncClient, str]


@pytest.fixture
def replies_service(
    nats_url: str, fresh_database_url: str, tmp_path: Path
) -> Callable[..., AbstractAsyncContextManager[Started]]:
    """`async with replies_service(**settings) as (app, http, database_url):` one service on a fresh database."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Started]:
        await asyncio.to_thread(upgrade, "replies", fresh_database_url)
        settings = RepliesSettings(
            **{
                "nats_url": nats_url,
                "database_url": fresh_database_url,
                "data_dir": tmp_path,
                "webhook_secret": SECRET,
                "replies_poll_seconds": 0,
                "webhook_check_seconds": 0,
                "actions_poll_seconds": 0.2,
                # Never the developer's real keys: each test opts in, pointing at a fake.
                "ANTHROPIC_API_KEY": None,
                "INSTANTLY_API_KEY": None,
                "notify_webhook_url": None,
                **overrides,
            }
        )
        app = create_app(settings)
        await app.start()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://replies.test") as client:
                yield app, client, fresh_database_url
        finally:
            await app.stop()

    return start


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()
