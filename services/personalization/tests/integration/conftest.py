"""Fixtures shared by personalization's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from nats.js.client import JetStreamContext


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_url)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()
