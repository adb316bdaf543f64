"""uvicorn's httptools protocol, writing each response with one system call instead of two.

uvicorn writes the status line and headers when the app sends `http.response.start`, and the body on
`http.response.body`: two `send()`s on the socket, two TCP segments, and on loopback the receiver's wake-up
twice. Profiled at ~1,000 webhooks/s those two writes were the largest single cost of the service (16% of its
CPU). Writes made during one turn of the event loop are gathered here and handed to the transport together
at the end of it, which uvloop sends with a single `writev`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class GatheredWrites:
    """A transport whose `write`s wait for the end of the loop turn, then go out in one `writelines`."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending and not self._transport.is_closing():  # a peer gone meanwhile: uvicorn drops the answer too
            self._transport.writelines(pending)

    def close(self) -> None:
        self._flush()  # what was written before close is sent, as with the plain transport
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWritePerResponse(HttpToolsProtocol):
    """`uvicorn.Config(http=OneWritePerResponse)`: httptools parsing, responses written in one call."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(GatheredWrites(transport, self.loop))  # type: ignore[arg-type]
