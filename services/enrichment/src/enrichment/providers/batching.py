"""Micro-batching: lookups that concurrent leads make to one provider leave as one bulk request.

A lookup waits at most `linger` seconds for company, or until `max_size` lookups have gathered. While
`max_in_flight` bulk calls are already out, lookups keep gathering, so batches grow with the load and a lone
lookup pays at most the linger in latency. Every lookup gets its own answer (a value, None for "no match", or
its own exception), and a bulk call that fails as a whole fails each of its lookups with that error: callers see
exactly what a one-lead call would have given them, so waterfalls, budgets and the cost log are unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Q = TypeVar("Q")
R = TypeVar("R")


class MicroBatcher(Generic[Q, R]):
    """Gathers `submit`ted lookups into calls of `send` (lookups in, one answer per lookup out)."""

    def __init__(
        self,
        send: Callable[[list[Q]], Awaitable[Sequence[R | BaseException | None]]],
        *,
        max_size: int,
        linger: float,
        max_in_flight: int = 4,
    ) -> None:
        self._send = send
        self._max_size, self._linger = max(1, max_size), linger
        self._slots = asyncio.Semaphore(max_in_flight)
        self._pending: list[tuple[Q, asyncio.Future[R | None]]] = []
        self._full = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()  # strong references: the loop keeps only weak ones

    async def submit(self, lookup: Q) -> R | None:
        """This lookup's answer, once the bulk call carrying it returns; raises its error."""
        future: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
        self._pending.append((lookup, future))
        if len(self._pending) >= self._max_size:
            self._full.set()
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch())
        return await future

    async def _dispatch(self) -> None:
        while self._pending:
            if len(self._pending) < self._max_size:
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._linger):
                        await self._full.wait()
            await self._slots.acquire()
            batch = [(lookup, future) for lookup, future in self._pending[: self._max_size] if not future.done()]
            del self._pending[: self._max_size]
            if not batch:  # every waiter gave up (cancelled): nothing to ask
                self._slots.release()
                continue
            call = asyncio.create_task(self._call(batch))
            self._calls.add(call)
            call.add_done_callback(self._calls.discard)

    async def _call(self, batch: list[tuple[Q, asyncio.Future[R | None]]]) -> None:
        try:
            answers = await self._send([lookup for lookup, _ in batch])
            if len(answers) != len(batch):
                raise RuntimeError(f"bulk call answered {len(answers)} lookups for {len(batch)}")
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as error:
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        finally:
            self._slots.release()
        for (_, future), answer in zip(batch, answers, strict=True):
            if future.done():  # its lead was cancelled meanwhile
                continue
            if isinstance(answer, BaseException):
                future.set_exception(answer)
            else:
                future.set_result(answer)
