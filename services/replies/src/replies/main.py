"""Wiring only: settings, runtime, handlers, HTTP routes, and the uvicorn process entry point."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from faststream.asgi import AsgiFastStream
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from coldstream_shared.migrations import upgrade
from coldstream_shared.service import Runtime, build_runtime, configure_logging, make_app
from coldstream_shared.unit_of_work import UnitOfWork
from replies import handlers
from replies.actions import SERVICE
from replies.batching import RelayOnlyOutbox, WebhookBatcher
from replies.ingest_webhook import IngestWebhook
from replies.settings import RepliesSettings
from replies.store import metadata, outbox
from replies.unsubscribe_link import UnsubscribeByLink
from replies.web import build_web
from replies.wiring import build

log = logging.getLogger("coldstream.replies")


@dataclass
class RepliesApp:
    """The ASGI app: lifespan runs FastStream's hooks (streams, outbox relay, readiness), HTTP goes to Starlette.

    AsgiFastStream matches routes by exact path only; `/unsubscribe/{token}` needs Starlette's router.
    """

    streams: AsgiFastStream
    web: Starlette
    runtime: Runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.streams(scope, receive, send)
        else:
            await self.web(scope, receive, send)

    @property
    def broker(self) -> Any:
        """The NATS broker (for AsyncAPI generation and tests)."""
        return self.streams.broker

    async def start(self) -> None:
        """Start the broker side without HTTP (tests drive HTTP through an ASGI transport)."""
        await self.streams.start()

    async def stop(self) -> None:
        """Stop what `start` started."""
        await self.streams.stop()


def create_app(settings: RepliesSettings | None = None) -> RepliesApp:
    """The replies service as one ASGI app."""
    settings = settings or RepliesSettings()
    runtime = build_runtime(SERVICE, settings, metadata)
    components = build(settings, runtime)
    handlers.register(runtime, components)
    relay_only = RelayOnlyOutbox(outbox, runtime.sessions, runtime.broker)
    ingest = IngestWebhook(
        lambda: UnitOfWork(runtime.sessions, runtime.processed, relay_only), components.record_reply, settings.team_id
    )
    batcher = WebhookBatcher(ingest.store_batch)
    web = build_web(settings, runtime.broker, batcher, UnsubscribeByLink(runtime.unit_of_work, settings.team_id))
    streams = make_app(runtime, asgi_routes=[("/health", web), ("/webhooks/instantly", web)])
    assert isinstance(streams, AsgiFastStream)

    @streams.on_startup
    async def _warn_if_open() -> None:
        if settings.webhook_secret is None:
            log.warning("COLDSTREAM_WEBHOOK_SECRET is not set: /webhooks/instantly accepts unauthenticated posts")

    @streams.on_shutdown
    async def _drain_batches() -> None:
        await batcher.close()

    @streams.after_shutdown
    async def _close_clients() -> None:
        await components.close()

    return RepliesApp(streams, web, runtime)


class _Server(uvicorn.Server):
    """Uvicorn re-raises a caught SIGTERM/SIGINT after its graceful shutdown; ours is complete, so exit 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


def main() -> None:
    """Process entry point: migrate the schema, then serve HTTP and NATS until SIGINT/SIGTERM."""
    settings = RepliesSettings()
    configure_logging(settings.log_level)
    upgrade("replies", settings.database_url)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.replies_host,
        port=settings.replies_port,
        lifespan="on",
        # Our logging config; no access log: unsubscribe URLs carry tokens.
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
    )
    server = _Server(config)
    server.run()  # with uvloop when installed (config.loop="auto")
    if not server.started:
        sys.exit(1)
