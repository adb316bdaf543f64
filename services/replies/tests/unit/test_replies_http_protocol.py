"""One write per response: what uvicorn writes during one loop turn reaches the socket in one call."""

from __future__ import annotations

import asyncio
from typing import Any

from replies.http_protocol import GatheredWrites


class RecordingTransport:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.closing = False

    def writelines(self, data: list[bytes]) -> None:
        self.calls.append(("writelines", list(data)))

    def close(self) -> None:
        self.closing = True
        self.calls.append(("close", None))

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


async def test_writes_of_one_turn_go_out_together() -> None:
    transport = RecordingTransport()
    gathered = GatheredWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
    gathered.write(b"HTTP/1.1 200 OK\r\n\r\n")
    gathered.write(b"{}")
    assert transport.calls == []
    await asyncio.sleep(0)
    assert transport.calls == [("writelines", [b"HTTP/1.1 200 OK\r\n\r\n", b"{}"])]
    assert gathered.get_extra_info("peername") == "info:peername"  # everything else is the transport's


async def test_close_sends_what_was_written_first_and_a_gone_peer_gets_nothing() -> None:
    transport = RecordingTransport()
    gathered = GatheredWrites(transport, asyncio.get_running_loop())  # type: ignore[arg-type]
    gathered.write(b"last words")
    gathered.close()
    await asyncio.sleep(0)
    assert transport.calls == [("writelines", [b"last words"]), ("close", None)]

    gone = RecordingTransport()
    gone.closing = True
    GatheredWrites(gone, asyncio.get_running_loop()).write(b"late")  # type: ignore[arg-type]
    await asyncio.sleep(0)
    assert gone.calls == []
