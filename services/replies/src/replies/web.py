"""HTTP transport: health, the Instantly webhook and the unsubscribe link. Thin: checks, then a use case."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from replies import pages
from replies.settings import RepliesSettings
from replies.unsubscribe_link import UnsubscribeByLink
from replies.webhook_http import InstantlyWebhookEndpoint
from replies.webhooks import Webhook

log = logging.getLogger(__name__)
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


def webhook_endpoint(
    settings: RepliesSettings, ingest: Callable[[Webhook], Awaitable[bool]]
) -> InstantlyWebhookEndpoint:
    """POST /webhooks/instantly as a bare ASGI endpoint (the service also routes to it ahead of Starlette)."""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    return InstantlyWebhookEndpoint(ingest, secret, settings.webhook_secret_header, settings.webhook_max_body_bytes)


def build_web(
    settings: RepliesSettings,
    broker: Any,
    ingest: Callable[[Webhook], Awaitable[bool]],
    unsubscribe: UnsubscribeByLink,
) -> Starlette:
    """The Starlette app serving every HTTP route of the service."""
    webhook = webhook_endpoint(settings, ingest)

    async def health(_: Request) -> Response:
        connected = await broker.ping(timeout=1.0)
        return JSONResponse({"status": "ok" if connected else "unavailable"}, status_code=200 if connected else 503)

    async def unsubscribe_page(request: Request) -> Response:
        owner = await unsubscribe.owner(request.path_params["token"])
        if owner is None:
            return HTMLResponse(pages.NOT_FOUND, status_code=404, headers=PAGE_HEADERS)
        return HTMLResponse(pages.CONFIRM, headers=PAGE_HEADERS)

    async def unsubscribe_now(request: Request) -> Response:
        # RFC 8058 one-click sends `List-Unsubscribe=One-Click`; our form sends the same. Any POST counts:
        # refusing an opt-out over a body detail would be the worse mistake.
        try:
            done = await unsubscribe(request.path_params["token"])
        except Exception:
            log.exception("unsubscribe link could not be recorded")
            return HTMLResponse(pages.UNAVAILABLE, status_code=503, headers=PAGE_HEADERS)
        if not done:
            return HTMLResponse(pages.NOT_FOUND, status_code=404, headers=PAGE_HEADERS)
        return HTMLResponse(pages.DONE, headers=PAGE_HEADERS)

    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/webhooks/instantly", webhook, methods=["POST"]),
            Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"]),
            Route("/unsubscribe/{token}", unsubscribe_now, methods=["POST"]),
        ]
    )
