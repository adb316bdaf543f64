"""HTTP transport: health, the Instantly webhook and the unsubscribe link. Thin: checks, then a use case."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from replies import pages
from replies.settings import RepliesSettings
from replies.unsubscribe_link import UnsubscribeByLink
from replies.webhooks import BadWebhookError, Webhook, authorized, parse

log = logging.getLogger(__name__)
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}


class BodyTooLargeError(Exception):
    """The request body passed the configured limit."""


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refusing early (by Content-Length) or while streaming once it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def build_web(
    settings: RepliesSettings,
    broker: Any,
    ingest: Callable[[Webhook], Awaitable[bool]],
    unsubscribe: UnsubscribeByLink,
) -> Starlette:
    """The Starlette app serving every HTTP route of the service."""
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None

    async def health(_: Request) -> Response:
        connected = await broker.ping(timeout=1.0)
        return JSONResponse({"status": "ok" if connected else "unavailable"}, status_code=200 if connected else 503)

    async def instantly_webhook(request: Request) -> Response:
        if not authorized(secret, request.headers.get(settings.webhook_secret_header)):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        try:
            hook = parse(await read_limited(request, settings.webhook_max_body_bytes))
        except BodyTooLargeError:
            return JSONResponse({"error": f"body larger than {settings.webhook_max_body_bytes} bytes"}, 413)
        except BadWebhookError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        except ClientDisconnect:
            return Response(status_code=400)
        try:
            new = await ingest(hook)
        except Exception:
            # Not stored: a 5xx makes Instantly retry the delivery later.
            log.exception("webhook %s %s could not be stored", hook.event_type, hook.dedup_key[:12])
            return JSONResponse({"error": "temporarily unavailable, retry"}, status_code=503)
        return JSONResponse({"status": "accepted", "duplicate": not new})

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
            Route("/webhooks/instantly", instantly_webhook, methods=["POST"]),
            Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"]),
            Route("/unsubscribe/{token}", unsubscribe_now, methods=["POST"]),
        ]
    )
