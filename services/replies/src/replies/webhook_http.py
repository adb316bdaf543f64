"""The Instantly webhook as a bare ASGI endpoint: the service's hot path, so it skips the framework around it.

Through Starlette each delivery paid for two middlewares, the router, a Request, a JSONResponse and its
`json.dumps`: about as much CPU as parsing the webhook itself. Here the headers are read in one pass, the body
is collected with its limit, and every answer is a constant. Behaviour is the same (401, 413, 400, 503, 200
with the same JSON bodies); Starlette still mounts this endpoint for its 404/405 handling.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import Receive, Scope, Send

from replies.webhooks import BadWebhookError, Webhook, authorized, parse

log = logging.getLogger(__name__)
Ingest = Callable[[Webhook], Awaitable[bool]]
Answer = tuple[dict[str, Any], dict[str, Any]]  # the ASGI response start and body messages


def _answer(status: int, content: dict[str, Any]) -> Answer:
    """The two ASGI messages of a JSON response, built once (`separators` as Starlette's JSONResponse)."""
    body = json.dumps(content, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {"type": "http.response.start", "status": status, "headers": headers}, {
        "type": "http.response.body",
        "body": body,
    }


ACCEPTED = _answer(200, {"status": "accepted", "duplicate": False})
REPLAYED = _answer(200, {"status": "accepted", "duplicate": True})
UNAUTHORIZED = _answer(401, {"error": "unauthorized"})
UNAVAILABLE = _answer(503, {"error": "temporarily unavailable, retry"})
DISCONNECTED = _answer(400, {"error": "client disconnected"})


class InstantlyWebhookEndpoint:
    """POST /webhooks/instantly: check the secret and the body, hand the webhook to `ingest`, answer once stored."""

    def __init__(self, ingest: Ingest, secret: str | None, secret_header: str, max_body_bytes: int) -> None:
        self._ingest = ingest
        self._secret = secret
        self._secret_header = secret_header.lower().encode("latin-1")
        self._limit = max_body_bytes
        self._too_large = _answer(413, {"error": f"body larger than {max_body_bytes} bytes"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start, body = await self._handle(scope, receive)
        await send(start)
        await send(body)

    async def _handle(self, scope: Scope, receive: Receive) -> Answer:
        presented: str | None = None
        declared = b""
        for name, value in scope["headers"]:  # the first of a repeated header counts, as in Starlette
            if name == self._secret_header and presented is None:
                presented = value.decode("latin-1")
            elif name == b"content-length" and not declared:
                declared = value
        if not authorized(self._secret, presented):
            return UNAUTHORIZED
        if declared.isdigit() and int(declared) > self._limit:
            return self._too_large
        body = await self._body(receive)
        if isinstance(body, tuple):  # too large, or the client went away
            return body
        try:
            hook = parse(body)
        except BadWebhookError as error:
            return _answer(400, {"error": str(error)})
        try:
            new = await self._ingest(hook)
        except Exception:
            # Not stored: a 5xx makes Instantly retry the delivery later.
            log.exception("webhook %s %s could not be stored", hook.event_type, hook.dedup_key[:12])
            return UNAVAILABLE
        return ACCEPTED if new else REPLAYED

    async def _body(self, receive: Receive) -> bytes | Answer:
        """The body, or the answer when it passes the limit or the client goes away."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return DISCONNECTED  # no one is listening; Starlette answered the same way
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self._limit:
                return self._too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
