"""A campaign's funnel, computed from the events themselves (no service database is read)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from coldstream import stream_scan
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
        lead_id = str(payload.get("lead_id"))
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
    """Feed the funnel from the streams until it is complete; bound it with `asyncio.timeout` (or use `watch`)."""
    # Set on the event that completes the funnel, so nobody polls for completion.
    completed = asyncio.Event()

    def feed(subject: str, payload: dict[str, Any], headers: dict[str, str]) -> None:
        funnel.feed(subject, payload)
        if funnel.complete:
            completed.set()

    await stream_scan.follow(nats_url, feed, completed, streams=("CAMPAIGNS", "LEADS", "EMAILS", "DLQ"))


async def watch(nats_url: str, funnel: Funnel, within: float) -> bool:
    """Feed the funnel for at most `within` seconds; True when it completed (False leaves partial counts)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            await follow(nats_url, funnel)
    return funnel.complete
