"""The five services in-process on a private nats-server and one migrated database, for the consumer fuzz tests.

Private server: a durable created here starts from the beginning of its stream, so on the session server it would
also receive every other test's events (and theirs ours). Processes are not needed to test the consumers: each
service's FastStream app runs in this event loop, exactly as its own integration tests run it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from coldstream.migrate import migrate_all
from coldstream.runtime.nats import NatsServer
from coldstream.runtime.postgres import PostgresServer
from discovery.main import create_app as discovery_app
from discovery.settings import DiscoverySettings
from enrichment.main import create_app as enrichment_app
from enrichment.settings import EnrichmentSettings
from personalization.main import create_app as personalization_app
from personalization.settings import PersonalizationSettings
from replies.main import create_app as replies_app
from replies.settings import RepliesSettings
from sending.main import create_app as sending_app
from sending.settings import SendingSettings
from tests.property.stack import Stack

# Never the developer's real keys or endpoints: the services run offline (template writer, file outbox).
OFFLINE = {"ANTHROPIC_API_KEY": None, "INSTANTLY_API_KEY": None}


@pytest.fixture(scope="session")
def fuzz_nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = NatsServer(tmp_path_factory.mktemp("nats-fuzz"), port=0, http_port=0)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def stack_database_url(postgres_server: PostgresServer) -> Iterator[str]:
    name = f"fuzz_{uuid.uuid4().hex[:12]}"
    postgres_server.create_database(name)
    url = postgres_server.database_dsn(name)
    migrate_all(url)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture(scope="session")
async def stack(
    fuzz_nats_url: str, stack_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """All five services consuming, plus a campaign every one of them knows (valid events refer to it)."""
    data_dir: Path = tmp_path_factory.mktemp("stack")
    common = {"nats_url": fuzz_nats_url, "database_url": stack_database_url, "data_dir": data_dir}
    async with AsyncExitStack() as exits:
        for app in (
            discovery_app(DiscoverySettings(**common)),
            enrichment_app(EnrichmentSettings(**common)),
            personalization_app(PersonalizationSettings(**common, **OFFLINE)),
            sending_app(SendingSettings(**common, **OFFLINE)),
        ):
            await exits.enter_async_context(app)
        replies = replies_app(
            RepliesSettings(
                **common,
                **OFFLINE,
                replies_poll_seconds=0,
                webhook_check_seconds=0,
                notify_webhook_url=None,
            )
        )
        await replies.start()
        exits.push_async_callback(replies.stop)
        stack = Stack(fuzz_nats_url, stack_database_url, data_dir)
        await exits.enter_async_context(stack)
        await asyncio.wait_for(stack.start_campaign(), timeout=60)
        yield stack
