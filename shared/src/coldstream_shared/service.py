"""Wiring every service shares: broker, database, outbox relay, tracing, lifecycle and the process entry point."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import uvloop
from faststream import FastStream
from faststream.asgi import AsgiFastStream
from faststream.exceptions import IncorrectState
from faststream.nats import NatsBroker
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from coldstream_shared.db import make_engine, make_sessionmaker, processed_events_table
from coldstream_shared.dead_letters import RetryPolicy
from coldstream_shared.heap import settle_heap
from coldstream_shared.heartbeat import HEARTBEAT_SECONDS, heartbeat
from coldstream_shared.messaging import declare_streams, make_broker
from coldstream_shared.migrations import upgrade
from coldstream_shared.outbox import Outbox, outbox_table
from coldstream_shared.settings import ServiceSettings, redact_url
from coldstream_shared.telemetry import setup_tracing
from coldstream_shared.unit_of_work import UnitOfWork

log = logging.getLogger("coldstream")

Loop = Callable[[], Coroutine[Any, Any, None]]


def standard_tables(metadata: MetaData) -> tuple[Any, Any]:
    """The processed-events inbox and the outbox every service keeps in its schema."""
    return processed_events_table(metadata), outbox_table(metadata)


@dataclass
class Runtime:
    """What a service's handlers and use cases are built from."""

    service: str
    settings: ServiceSettings
    broker: NatsBroker
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    outbox: Outbox
    processed: Any
    tracer_provider: TracerProvider
    loops: list[Loop] = field(default_factory=list)
    heartbeat_seconds: float = HEARTBEAT_SECONDS

    def unit_of_work(self) -> UnitOfWork:
        """A fresh unit of work (one per message)."""
        return UnitOfWork(self.sessions, self.processed, self.outbox)


def build_runtime(
    service: str, settings: ServiceSettings, metadata: MetaData, retry: RetryPolicy | None = None
) -> Runtime:
    """Connect the pieces; nothing touches the network until the app starts."""
    processed = metadata.tables[f"{metadata.schema}.processed_events"]
    outbox = metadata.tables[f"{metadata.schema}.outbox"]
    provider = setup_tracing(service, otlp_endpoint=settings.otlp_endpoint, data_dir=settings.data_dir)
    broker = make_broker(settings.nats_url, service=service, tracer_provider=provider, retry=retry)
    engine = make_engine(settings.database_url, service=service, pool_size=settings.db_pool_size)
    if settings.trace_sql:
        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, tracer_provider=provider)
    sessions = make_sessionmaker(engine)
    return Runtime(service, settings, broker, engine, sessions, Outbox(outbox, sessions, broker), processed, provider)


def make_app(runtime: Runtime, asgi_routes: Sequence[tuple[str, Any]] = ()) -> FastStream | AsgiFastStream:
    """The FastStream app with the shared lifecycle: streams, outbox relay, background loops, readiness, liveness."""
    app: FastStream | AsgiFastStream = (
        AsgiFastStream(runtime.broker, asgi_routes=list(asgi_routes)) if asgi_routes else FastStream(runtime.broker)
    )
    tasks: list[asyncio.Task[None]] = []
    ready_file = runtime.settings.data_dir / "ready" / runtime.service

    @app.on_startup
    async def _declare() -> None:
        ready_file.unlink(missing_ok=True)
        await declare_streams(runtime.broker)

    @app.after_startup
    async def _start_loops() -> None:
        for loop in (runtime.outbox.relay, *runtime.loops):
            tasks.append(asyncio.create_task(loop(), name=f"{runtime.service}:{loop.__qualname__}"))
        ready_file.parent.mkdir(parents=True, exist_ok=True)
        ready_file.write_text("ready\n")
        loops = list(tasks)
        beat = heartbeat(ready_file, lambda: diagnose(runtime.broker, loops), runtime.heartbeat_seconds)
        tasks.append(asyncio.create_task(beat, name=f"{runtime.service}:heartbeat"))
        log.info(
            "%s service ready (nats %s, db %s)",
            runtime.service,
            runtime.settings.nats_url,
            redact_url(runtime.settings.database_url),
        )

    @app.on_shutdown
    async def _stop_loops() -> None:
        ready_file.unlink(missing_ok=True)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):  # unmarked events are only republished (deduplicated) otherwise
            await runtime.outbox.mark_published()

    @app.after_shutdown
    async def _release() -> None:
        await runtime.engine.dispose()
        runtime.tracer_provider.shutdown()

    return app


def diagnose(broker: NatsBroker, loops: Sequence[asyncio.Task[None]]) -> str | None:
    """What keeps this service from doing its work for good, for the liveness heartbeat; None when nothing does.

    Only what a restart can cure counts. A NATS or Postgres outage does not: the clients reconnect by themselves
    (nats-py retries forever, the pool opens new connections), and restarting every pod of every service during an
    outage would only add a thundering herd when it ends (the replies service's probe reasons the same way). A NATS
    client that has given up (closed) never comes back, so that one counts. The database is not queried either: a
    query would wait for a connection behind a busy pool and make a loaded service look hung.
    """
    try:
        closed = broker.connection.is_closed
    except IncorrectState:  # not connected yet, or already stopped
        closed = True
    if closed:
        return "the NATS connection is closed"
    # Every loop retries its own failures forever, so a finished one died of something unexpected.
    stopped = [task.get_name() for task in loops if task.done()]
    return f"background loop stopped: {', '.join(stopped)}" if stopped else None


def configure_logging(level: str) -> None:
    """One line per record, with the logger name; the runtime prefixes the service name."""
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def serve(package: str, settings: SettingsT, create_app: Callable[[SettingsT], Any]) -> None:
    """Process entry point for the service `package` (also its name): migrate its schema, run until SIGINT/SIGTERM."""
    configure_logging(settings.log_level)
    # A ready file left by a killed process (the pod's emptyDir, the compose volume outlive the container) must not
    # pass for this one while it migrates; make_app writes it again once the service runs.
    (settings.data_dir / "ready" / package).unlink(missing_ok=True)
    upgrade(package, settings.database_url)
    app = create_app(settings)
    app.after_startup(_settle_after_startup)
    # uvloop: every message is a few socket operations, and the standard loop's Python-level socket and callback
    # handling was a visible share of the CPU per lead (enrichment, replies).
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(app.run())


async def _settle_after_startup() -> None:
    settle_heap()
