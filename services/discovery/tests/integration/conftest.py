"""Fixtures for discovery's integration tests: a migrated fresh database and a JetStream context."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
from nats.js.client import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from coldstream_shared.migrations import upgrade
from coldstream_shared.streams import ensure_streams


@pytest.fixture
async def database(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade, "discovery", fresh_database_url)
    engine = create_async_engine(fresh_database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    jetstream = nc.jetstream()
    await ensure_streams(jetstream)
    yield jetstream
    await nc.close()
