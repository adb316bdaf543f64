"""Discovery's runtime for tests and tools that call its use cases directly (no subscribers), one setup for the
service's integration tests and the property tests in tests/property."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from coldstream_shared.messaging import declare_streams
from coldstream_shared.migrations import upgrade
from coldstream_shared.service import Runtime, build_runtime
from discovery.lead_events import SERVICE
from discovery.settings import DiscoverySettings
from discovery.store import metadata


@asynccontextmanager
async def direct_runtime(
    nats_url: str, database_url: str, data_dir: Path, *, migrate: bool = False
) -> AsyncIterator[Runtime]:
    """The service's runtime without subscribers: callers run the use cases and read the outbox. `migrate` first
    brings a fresh database to discovery's latest schema."""
    if migrate:
        await asyncio.to_thread(upgrade, "discovery", database_url)
    settings = DiscoverySettings(nats_url=nats_url, database_url=database_url, data_dir=data_dir)
    runtime = build_runtime(SERVICE, settings, metadata)
    await declare_streams(runtime.broker)
    try:
        yield runtime
    finally:
        await runtime.broker.stop()
        await runtime.engine.dispose()
