"""A local fake of Anthropic's Messages API (`POST /v1/messages`), for tests, benchmarks and the chaos run.

It speaks the documented shapes so the real `anthropic` SDK runs against it unchanged (`base_url=fake.base_url`):
the request needs a key (`x-api-key` or a bearer token) and `anthropic-version`; the answer is a `message`
with `content` blocks (`tool_use` when the request offers tools, `text` otherwise), a `stop_reason` and `usage`
with the prompt-caching fields (`cache_creation_input_tokens` on the first request that marks its system prompt
with `cache_control`, `cache_read_input_tokens` afterwards). Errors use the documented envelope
`{"type": "error", "error": {"type": ..., "message": ...}}`, e.g. 429 `rate_limit_error` with `retry-after` and 529
`overloaded_error`.

What the model "says" comes from `respond(request_json)`:
- a dict: the input of a `tool_use` block for the first tool offered (stop_reason `tool_use`);
- a str: a `text` block (stop_reason `end_turn`);
- an `Answer`: full control (content blocks or a raw string, stop_reason, e.g. `max_tokens` for a truncated reply).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from coldstream.fakes.served import Served

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass
class Answer:
    """A fully specified model answer: `content` is a list of content blocks, a tool input dict, or text."""

    content: list[dict[str, Any]] | dict[str, Any] | str
    stop_reason: str | None = None


@dataclass
class Failure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


Responder = Callable[[dict[str, Any]], "dict[str, Any] | str | Answer"]


def _tokens(value: Any) -> int:
    """A rough token count (4 characters per token): enough for cost and rate-limit arithmetic."""
    return max(1, len(json.dumps(value, ensure_ascii=False)) // 4)


class FakeAnthropic(Served):
    """`async with FakeAnthropic(respond) as fake:` serves on a free loopback port until the block ends."""

    def __init__(self, respond: Responder | None = None, *, latency: float = 0.0, api_key: str | None = None) -> None:
        self.respond: Responder = respond or (lambda _request: "Hello from the fake model.")
        self.latency = latency
        self.api_key = api_key  # when set, other keys get a 401
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._failures: deque[Failure] = deque()
        self._cached_systems: set[str] = set()
        self._ids = itertools.count(1)
        self.app = Starlette(routes=[Route("/v1/messages", self._messages, methods=["POST"])])

    def fail_next(
        self, status: int, headers: dict[str, str] | None = None, body: Any = None, *, times: int = 1
    ) -> None:
        """Answer the next `times` requests with `status` (e.g. 429 with {'retry-after': '1'}, or 529)."""
        for _ in range(times):
            self._failures.append(Failure(status, dict(headers or {}), body))

    async def _messages(self, request: Request) -> JSONResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "body is not JSON")
        self.requests.append(body)
        self.headers.append(headers)
        # Older SDKs send `x-api-key`, newer ones `Authorization: Bearer`; the API accepts both.
        key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not key or (self.api_key is not None and key != self.api_key):
            return _error(401, "invalid API key")
        if "anthropic-version" not in headers:
            return _error(400, "anthropic-version header is required")
        for name in ("model", "max_tokens", "messages"):
            if name not in body:
                return _error(400, f"{name}: Field required")
        if self.latency:
            await asyncio.sleep(self.latency)
        if self._failures:
            failure = self._failures.popleft()
            if failure.body is not None:
                return JSONResponse(failure.body, status_code=failure.status, headers=failure.headers)
            return _error(failure.status, f"fake {failure.status}", failure.headers)
        return JSONResponse(self._message(body, self.respond(body)))

    def _message(self, request: dict[str, Any], said: dict[str, Any] | str | Answer) -> dict[str, Any]:
        answer = said if isinstance(said, Answer) else Answer(said)
        tools = request.get("tools") or []
        if isinstance(answer.content, dict):
            name = tools[0]["name"] if tools else "tool"
            content = [
                {"type": "tool_use", "id": f"toolu_fake{next(self._ids)}", "name": name, "input": answer.content}
            ]
            stop = answer.stop_reason or "tool_use"
        elif isinstance(answer.content, str):
            content = [{"type": "text", "text": answer.content}]
            stop = answer.stop_reason or "end_turn"
        else:
            content = answer.content
            stop = answer.stop_reason or "end_turn"
        return {
            "id": f"msg_fake{next(self._ids)}",
            "type": "message",
            "role": "assistant",
            "model": request["model"],
            "content": content,
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": self._usage(request, content),
        }

    def _usage(self, request: dict[str, Any], content: list[dict[str, Any]]) -> dict[str, Any]:
        system = request.get("system")
        cached_part = ""
        if isinstance(system, list) and any(block.get("cache_control") for block in system):
            cached_part = json.dumps(system, sort_keys=True)
        creation = read = 0
        if cached_part:
            if cached_part in self._cached_systems:
                read = _tokens(system)
            else:
                self._cached_systems.add(cached_part)
                creation = _tokens(system)
        total_in = _tokens({"system": system, "messages": request.get("messages"), "tools": request.get("tools")})
        return {
            "input_tokens": max(1, total_in - creation - read),
            "output_tokens": _tokens(content),
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": read,
        }


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    kind = ERROR_TYPES.get(status, "api_error")
    return JSONResponse(
        {"type": "error", "error": {"type": kind, "message": message}}, status_code=status, headers=headers
    )
