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
from starlette.types import ASGIApp, Receive, Scope, Send

from coldstream_shared.heap import settle_heap
from coldstream_shared.migrations import upgrade
from coldstream_shared.service import Runtime, build_runtime, configure_logging, make_app
from replies import handlers
from replies.actions import SERVICE
from replies.apply_webhooks import ApplyWebhooks
from replies.batching import BackgroundApplier, WebhookBatcher
from replies.http_protocol import OneWritePerResponse
from replies.ingest_webhook import IngestWebhook
from replies.loops import every
from replies.settings import RepliesSettings
from replies.store import metadata
from replies.unsubscribe_link import UnsubscribeByLink
from replies.web import build_web, webhook_endpoint
from replies.wiring import build

log = logging.getLogger("coldstream.replies")
WEBHOOK_PATH = "/webhooks/instantly"


@dataclass
class RepliesApp:
    """The ASGI app: lifespan runs FastStream's hooks (streams, outbox relay, readiness), HTTP goes to Starlette.

    AsgiFastStream matches routes by exact path only; `/unsubscribe/{token}` needs Starlette's router.
    """

    streams: AsgiFastStream
    web: Starlette
    runtime: Runtime
    webhook: ASGIApp  # the hot path, reached without Starlette's middleware and router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == WEBHOOK_PATH and scope["method"] == "POST":
            await self.webhook(scope, receive, send)
        elif scope["type"] == "lifespan":
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
    apply = ApplyWebhooks(runtime.unit_of_work, components.record_reply, settings.team_id)
    applier = BackgroundApplier(
        apply,
        apply.left_behind,
        max_batch=settings.webhook_apply_batch_max,
        linger=settings.webhook_apply_linger_seconds,
    )
    runtime.loops.append(every(settings.webhook_sweep_seconds, applier.sweep, "apply left-behind webhooks"))
    ingest = IngestWebhook(runtime.engine, applier.soon)
    batcher = WebhookBatcher(
        ingest.store_batch, max_batch=settings.webhook_batch_max, concurrency=settings.webhook_batch_concurrency
    )
    web = build_web(settings, runtime.broker, batcher, UnsubscribeByLink(runtime.unit_of_work, settings.team_id))
    streams = make_app(runtime, asgi_routes=[("/health", web), (WEBHOOK_PATH, web)])
    assert isinstance(streams, AsgiFastStream)

    @streams.on_startup
    async def _warn_if_open() -> None:
        if settings.webhook_secret is None:
            log.warning("COLDSTREAM_WEBHOOK_SECRET is not set: /webhooks/instantly accepts unauthenticated posts")

    @streams.on_shutdown
    async def _drain_batches() -> None:
        await batcher.close()
        await applier.close()

    @streams.after_shutdown
    async def _close_clients() -> None:
        await components.close()

    return RepliesApp(streams, web, runtime, webhook_endpoint(settings, batcher))


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
    app = create_app(settings)

    @app.streams.after_startup
    async def _settle_heap() -> None:
        settle_heap()  # as `serve` does for the other services: process only, never in tests

    config = uvicorn.Config(
        app,
        host=settings.replies_host,
        port=settings.replies_port,
        lifespan="on",
        http=OneWritePerResponse,
        # Our logging config; no access log: unsubscribe URLs carry tokens.
        log_config=None,
        access_log=False,
        # Nothing reads the client address; the middleware rewriting it from X-Forwarded-For was per-request work.
        proxy_headers=False,
        timeout_graceful_shutdown=30,
    )
    server = _Server(config)
    server.run()  # with uvloop when installed (config.loop="auto")
    if not server.started:
        sys.exit(1)
