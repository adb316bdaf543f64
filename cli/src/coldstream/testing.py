"""Pytest fixtures for real nats-server and Postgres processes (loaded via ``pytest_plugins``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from coldstream.runtime import ports
from coldstream.runtime.nats import NatsServer
from coldstream.runtime.postgres import FAST_TEST_SETTINGS, PostgresServer

# Servers start lazily: a test that requests none of these fixtures spawns nothing.


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    return ports.free_port()


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A JetStream nats-server private to this test session (fresh store, random port)."""
    # Never reuse a server someone left on 4222: a new store dir and port every session.
    server = NatsServer(tmp_path_factory.mktemp("nats"), port=0, http_port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def nats_url(nats_server: NatsServer) -> str:
    """Client URL of the session nats-server."""
    return nats_server.url


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A Postgres cluster private to this test session, with durability off for speed."""
    server = PostgresServer(tmp_path_factory.mktemp("postgres"), port=0, settings=FAST_TEST_SETTINGS)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def database_url(postgres_server: PostgresServer) -> str:
    """asyncpg URL of the session's shared ``coldstream`` database (not migrated, not reset)."""
    return postgres_server.dsn


@pytest.fixture
def fresh_database_url(postgres_server: PostgresServer) -> Iterator[str]:
    """asyncpg URL of a brand-new empty database, dropped after the test."""
    # A new database per test isolates tests without restarting Postgres.
    name = f"test_{uuid.uuid4().hex[:16]}"
    postgres_server.create_database(name)
    yield postgres_server.database_dsn(name)
    postgres_server.drop_database(name)


@pytest.fixture
def nats_server_factory(tmp_path: Path) -> Iterator[Callable[..., NatsServer]]:
    """Start extra, test-owned nats-servers (for chaos tests that kill or restart them)."""
    started: list[NatsServer] = []

    def make(**kwargs: object) -> NatsServer:
        server = NatsServer(tmp_path / f"nats{len(started)}", **{"port": 0, **kwargs})  # type: ignore[arg-type]
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def postgres_server_factory(tmp_path: Path) -> Iterator[Callable[..., PostgresServer]]:
    """Start extra, test-owned Postgres clusters (for chaos tests that kill or restart them)."""
    started: list[PostgresServer] = []

    def make(**kwargs: object) -> PostgresServer:
        options: dict[str, object] = {"port": 0, "settings": FAST_TEST_SETTINGS, **kwargs}
        server = PostgresServer(tmp_path / f"postgres{len(started)}", **options)  # type: ignore[arg-type]
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.stop()
