"""Watch the streams through a nats-server restart: a tail that remembers where it was in each stream.

Reads with `stream_scan.read_batch` like every other tool; `stream_scan.follow` gives up when the server goes
away, and the chaos run restarts the server on purpose, so this tail keeps its positions, waits, and reads on from
where it stopped (no message is fed twice, none skipped).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError

from coldstream.funnel import Funnel
from coldstream.stream_scan import read_batch
from coldstream_shared import subjects

STREAMS = ("CAMPAIGNS", "LEADS", "EMAILS", "REPLIES", "DLQ")
log = logging.getLogger(__name__)


@dataclass
class Events:
    """Every event of the run, by subject and event id (a re-published event id counts once, and is counted)."""

    by_subject: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    republished: Counter[str] = field(default_factory=Counter)  # subject -> copies of an id already seen
    dead_letters: list[dict[str, Any]] = field(default_factory=list)

    def feed(self, subject: str, payload: dict[str, Any]) -> None:
        if subject.startswith(subjects.DLQ_PREFIX + "."):
            if not subject.startswith(f"{subjects.DLQ_PREFIX}._ops"):
                self.dead_letters.append(payload)
            return
        event_id = str(payload.get("event_id") or "")
        seen = self.by_subject[subject]
        if event_id in seen:
            self.republished[subject] += 1
        else:
            seen[event_id] = payload

    def of(self, subject: str, campaign_id: str | None = None) -> list[dict[str, Any]]:
        """Distinct events of `subject` (of one campaign when given)."""
        events = self.by_subject.get(subject, {}).values()
        return [e for e in events if campaign_id is None or e.get("campaign_id") == campaign_id]


class Tail:
    """Feeds a Funnel and an Events record from every stream, surviving server restarts."""

    def __init__(self, nats_url: str, funnel: Funnel, events: Events) -> None:
        self._url = nats_url
        self.funnel = funnel
        self.events = events
        self._next = dict.fromkeys(STREAMS, 1)
        self.outages = 0

    def _visit(self, subject: str, payload: dict[str, Any]) -> None:
        self.funnel.feed(subject, payload)
        self.events.feed(subject, payload)

    async def _read(self, nc: Any, stream: str) -> None:
        while batch := await read_batch(nc, stream, self._next[stream]):
            for message in batch:
                payload = message.payload()
                if payload is not None and message.subject:
                    self._visit(message.subject, payload)
            self._next[stream] = batch[-1].sequence + 1  # only after the read succeeded: a failed one is retried

    async def _connection_error(self, error: Exception) -> None:
        log.debug("stream tail connection: %s", error)

    async def catch_up(self, nc: Any) -> None:
        """Read every stream to its current end."""
        for stream in STREAMS:
            with contextlib.suppress(NoRespondersError):  # not created yet
                await self._read(nc, stream)

    async def run(self, stop: asyncio.Event, interval: float = 0.5) -> None:
        """Keep reading until `stop` is set; then read to the end once more."""
        nc = await nats.connect(
            self._url,
            connect_timeout=5,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            error_cb=self._connection_error,  # the restart is planned: a line, not a traceback per attempt
        )
        try:
            while True:
                final = stop.is_set()
                try:
                    await self.catch_up(nc)
                except (NatsError, TimeoutError, OSError) as error:  # the server restarts: read on once it is back
                    self.outages += 1
                    log.info("stream tail paused: %s", type(error).__name__)
                    await asyncio.sleep(interval)
                    continue
                if final:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), interval)
        finally:
            await nc.close()
