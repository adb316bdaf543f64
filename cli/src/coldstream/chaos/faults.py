"""Crash and bring back: SIGKILL a service (or nats-server) when the campaign reaches a planned point, start it
again on the same ports and data, and restart anything that died on its own meanwhile (as an orchestrator would).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from coldstream.chaos.plan import NATS, Fault, Plan
from coldstream.chaos.providers import RecordingInstantly
from coldstream.runtime.stack import EmbeddedStack

log = logging.getLogger(__name__)
UPLOAD_WAIT = 60.0  # seconds to wait for an upload to kill sending in the middle of


@dataclass
class FaultRecord:
    """What happened to one planned fault."""

    fault: Fault
    at_seconds: float | None = None  # since the run started; None: never fired
    progress: float | None = None
    back_after: float | None = None  # seconds from the kill until it was ready again
    error: str | None = None  # it did not come back
    note: str | None = None


@dataclass
class UnplannedExit:
    """A process that exited without being killed by the run (then restarted)."""

    target: str
    at_seconds: float
    code: int | None
    tail: str


class FaultInjector:
    """Carries out a plan's faults in order, one at a time; watches the other processes meanwhile."""

    def __init__(
        self,
        stack: EmbeddedStack,
        plan: Plan,
        progress: Callable[[], float],
        started: float,
        instantly: RecordingInstantly | None = None,
    ) -> None:
        self._stack = stack
        self._instantly = instantly
        self._progress = progress
        self._started = started
        self.records = [FaultRecord(fault) for fault in plan.faults]
        self.unplanned: list[UnplannedExit] = []
        self._busy: set[str] = set()  # being killed or restarted on purpose right now

    @property
    def done(self) -> bool:
        """Every planned fault fired and came back (or failed to)."""
        return all(r.back_after is not None or r.error is not None for r in self.records)

    async def run(self, stop: asyncio.Event) -> None:
        """Fire each fault once the campaign's progress passes its point."""
        for record in self.records:
            while self._progress() < record.fault.at_progress:
                if stop.is_set():
                    return
                await asyncio.sleep(0.2)
            await self._inject(record)

    async def _inject(self, record: FaultRecord) -> None:
        fault = record.fault
        record.at_seconds = round(time.monotonic() - self._started, 1)
        record.progress = round(self._progress(), 3)
        self._busy.add(fault.target)
        killed = time.monotonic()
        try:
            if fault.target == NATS:
                await asyncio.to_thread(self._stack.nats.kill)
                await asyncio.sleep(fault.downtime)
                await asyncio.to_thread(self._stack.nats.start)
            else:
                service = self._stack.supervisor[fault.target]
                if fault.mid_upload and self._instantly is not None:
                    await self._kill_mid_upload(record)
                    killed = time.monotonic()
                    record.at_seconds = round(killed - self._started, 1)
                    record.progress = round(self._progress(), 3)
                else:
                    await asyncio.to_thread(service.kill)
                await asyncio.sleep(fault.downtime)
                await asyncio.to_thread(service.start)
                await asyncio.to_thread(service.wait_ready, self._stack.ready_timeout)
            record.back_after = round(time.monotonic() - killed, 1)
        except Exception as error:
            record.error = f"{type(error).__name__}: {error}"[:500]
            log.exception("%s did not come back after SIGKILL", fault.target)
        finally:
            self._busy.discard(fault.target)

    async def _kill_mid_upload(self, record: FaultRecord) -> None:
        """Let the next leads/add reach Instantly, kill the caller before it hears the answer, then answer."""
        assert self._instantly is not None
        release = asyncio.Event()
        self._instantly.hold_next_answer(release)
        try:
            async with asyncio.timeout(UPLOAD_WAIT):
                await self._instantly.held.wait()
            record.note = "while Instantly held back its answer to a leads/add it had stored"
        except TimeoutError:
            record.note = f"no upload within {UPLOAD_WAIT:.0f}s: killed at a random moment instead"
        try:
            await asyncio.to_thread(self._stack.supervisor[record.fault.target].kill)
        finally:
            release.set()  # the answer goes to a dead connection

    async def watch(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Restart a service that exited by itself (it is reported: only planned kills are expected)."""
        while not stop.is_set():
            for service in self._stack.supervisor:
                if service.name in self._busy or service.is_alive:
                    continue
                self.unplanned.append(
                    UnplannedExit(
                        service.name,
                        round(time.monotonic() - self._started, 1),
                        service.returncode,
                        service.output_tail(15),
                    )
                )
                self._busy.add(service.name)
                try:
                    await asyncio.to_thread(service.start)
                    await asyncio.to_thread(service.wait_ready, self._stack.ready_timeout)
                except Exception:
                    log.exception("%s could not be restarted", service.name)
                finally:
                    self._busy.discard(service.name)
            await asyncio.sleep(interval)
