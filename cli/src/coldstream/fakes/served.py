"""Serve a fake's ASGI app on a free loopback port for the length of an `async with` block.

The socket is bound before uvicorn starts, so `base_url` is known without parsing logs or racing for a port.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Self

import uvicorn


class Served:
    """Base class: subclasses set `self.app` (any ASGI app) in their `__init__`."""

    app: Any
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _socket: socket.socket | None = None

    @property
    def base_url(self) -> str:
        assert self._socket is not None, "the fake is not running"
        host, port = self._socket.getsockname()[:2]
        return f"http://{host}:{port}"

    async def __aenter__(self) -> Self:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        while not self._server.started:
            if self._task.done():
                self._task.result()  # startup failed: raise its error here
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        if self._socket is not None:
            self._socket.close()
