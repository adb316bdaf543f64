"""A campaign's funnel, computed from the events themselves (no service database is read)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.js.errors import NotFoundError

from coldstream_shared import subjects

TERMINAL_FIRST_TOUCH = {subjects.EMAIL_SENT, subjects.EMAIL_SUPPRESSED, subjects.EMAIL_FAILED}


@dataclass
class Funnel:
    """Counts per stage for one campaign, and which leads reached a terminal state."""

    campaign_id: str
    counts: Counter[str] = field(default_factory=Counter)
    rejected_by_stage: Counter[str] = field(default_factory=Counter)
    imported: dict[str, Any] | None = None
    leads: set[str] = field(default_factory=set)
    terminal: set[str] = field(default_factory=set)
    dead_letters: int = 0

    def feed(self, subject: str, payload: dict[str, Any]) -> None:
        """Apply one event (or dead letter) to the counts."""
        if subject.startswith(subjects.DLQ_PREFIX + "."):
            self._feed_dead_letter(payload)
            return
        if payload.get("campaign_id") != self.campaign_id:
            return
        lead_id = payload.get("lead_id")
        if subject == subjects.CAMPAIGN_IMPORTED:
            self.imported = payload
        elif subject == subjects.LEAD_SCRAPED:
            self.leads.add(lead_id)
        elif subject == subjects.EMAIL_HELD:  # held for a person's review: nothing more happens on its own
            self.terminal.add(lead_id)
        elif subject == subjects.LEAD_REJECTED:
            self.rejected_by_stage[payload.get("stage", "?")] += 1
            self.terminal.add(lead_id)
        elif subject in TERMINAL_FIRST_TOUCH and payload.get("step", 1) == 1:
            self.terminal.add(lead_id)
        if subject in TERMINAL_FIRST_TOUCH and payload.get("step", 1) != 1:
            self.counts[f"{subject} (follow-up)"] += 1
        else:
            self.counts[subject] += 1

    def _feed_dead_letter(self, record: dict[str, Any]) -> None:
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            original = json.loads(record.get("original_body") or "{}")
            if original.get("campaign_id") == self.campaign_id:
                self.dead_letters += 1
                if original.get("lead_id"):
                    self.terminal.add(original["lead_id"])

    @property
    def complete(self) -> bool:
        """Imported, and every accepted lead has reached a terminal state for its first touch."""
        # Every lead the import published must have been seen, not only those read so far.
        if self.imported is None or len(self.leads) < int(self.imported.get("published") or 0):
            return False
        return self.leads <= self.terminal

    def as_dict(self) -> dict[str, Any]:
        """The funnel as one JSON-friendly object."""
        imported = self.imported or {}
        return {
            "campaign_id": self.campaign_id,
            "rows_read": imported.get("rows_read"),
            "scraped": self.counts[subjects.LEAD_SCRAPED],
            "rejected_discovery": self.rejected_by_stage["discovery"],
            "verified": self.counts[subjects.LEAD_VERIFIED],
            "rejected_enrichment": self.rejected_by_stage["enrichment"],
            "generated": self.counts[subjects.EMAIL_GENERATED],
            "held": self.counts[subjects.EMAIL_HELD],
            "rejected_personalization": self.rejected_by_stage["personalization"],
            "sent": self.counts[subjects.EMAIL_SENT],
            "suppressed": self.counts[subjects.EMAIL_SUPPRESSED],
            "failed": self.counts[subjects.EMAIL_FAILED],
            "dead_lettered": self.dead_letters,
            "leads": len(self.leads),
            "leads_terminal": len(self.leads & self.terminal),
            "complete": self.complete,
        }


async def follow(nats_url: str, funnel: Funnel) -> None:
    """Feed the funnel from every stream until it is complete; bound it with `asyncio.timeout` (or use `watch`).

    A stream that cannot be read (not created yet) simply contributes nothing, as before.
    """
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    # Set by the consumers on the event that completes the funnel, so nobody polls for it.
    completed = asyncio.Event()

    async def consume(stream: str) -> None:
        # Reads the stream by sequence number (direct gets), no consumer at all: nothing to stall on flow
        # control on a loaded machine, nothing delivered to an expired pull request and lost, no gaps.
        next_seq = 1
        while True:
            try:
                last = (await js.stream_info(stream)).state.last_seq
                while next_seq <= last:
                    try:
                        raw = await js.get_msg(stream, next_seq)
                    except NotFoundError:  # deleted (e.g. a settled dead letter)
                        raw = None
                    next_seq += 1
                    if raw is not None and raw.subject and raw.data:
                        with contextlib.suppress(ValueError):
                            funnel.feed(raw.subject, json.loads(raw.data))
                        if funnel.complete:
                            completed.set()
            except NotFoundError:
                pass  # the stream is not there yet
            await asyncio.sleep(0.2)  # then look for what arrived since

    tasks = [asyncio.create_task(consume(name)) for name in ("CAMPAIGNS", "LEADS", "EMAILS", "DLQ")]
    try:
        await completed.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await nc.close()


async def watch(nats_url: str, funnel: Funnel, within: float) -> bool:
    """Feed the funnel for at most `within` seconds; True when it completed (False leaves partial counts)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            await follow(nats_url, funnel)
    return funnel.complete
