"""Where a running campaign stands, stage by stage, with rates and an ETA (from the events, as they arrive)."""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

# Stage -> the subjects that advance it. A lead counts once per stage (first touch for "sent").
STAGES: dict[str, tuple[str, ...]] = {
    "imported": ("lead.scraped", "lead.rejected:discovery"),
    "verified": ("lead.verified", "lead.rejected:enrichment"),
    "generated": ("email.generated", "email.held", "lead.rejected:personalization"),
    "sent": ("email.sent", "email.suppressed", "email.failed", "lead.rejected:sending"),
    "replied": ("reply.received",),
}
RATE_WINDOW = 30.0  # seconds of history behind each rate


@dataclass
class Stage:
    name: str
    done: set[str] = field(default_factory=set)
    recent: deque[float] = field(default_factory=deque)

    def advance(self, key: str, now: float) -> None:
        if key not in self.done:
            self.done.add(key)
            self.recent.append(now)

    def rate(self, now: float) -> float:
        while self.recent and now - self.recent[0] > RATE_WINDOW:
            self.recent.popleft()
        if len(self.recent) < 2:
            return 0.0
        # Intervals between arrivals, over the time they span (at least a second, so a burst isn't infinite).
        return (len(self.recent) - 1) / max(1.0, now - self.recent[0])


@dataclass
class CampaignStatus:
    """Counts per stage; `total` per stage is what the previous stage let through (rows for the import)."""

    campaign_id: str
    clock: Any = time.monotonic
    stages: dict[str, Stage] = field(default_factory=lambda: {name: Stage(name) for name in STAGES})
    rows_total: int | None = None
    rows_read: int = 0
    import_done: bool = False
    passed: dict[str, set[str]] = field(default_factory=lambda: {name: set() for name in STAGES})

    def visit(self, subject: str, payload: dict[str, Any], headers: dict[str, str]) -> None:
        if payload.get("campaign_id") != self.campaign_id:
            return
        if subject == "campaign.progress":
            self.rows_read = max(self.rows_read, int(payload.get("rows_read") or 0))
            self.rows_total = payload.get("rows_total") or self.rows_total
        elif subject == "campaign.imported":
            self.import_done = True
            self.rows_total = self.rows_read = int(payload.get("rows_read") or 0)
        key = f"{subject}:{payload.get('stage')}" if subject == "lead.rejected" else subject
        lead = str(payload.get("lead_id") or payload.get("event_id"))
        if subject in ("email.sent", "email.suppressed", "email.failed") and payload.get("step", 1) != 1:
            return
        for name, subjects in STAGES.items():
            if key in subjects:
                self.stages[name].advance(lead, self.clock())
                if subject in ("lead.scraped", "lead.verified", "email.generated", "email.sent"):
                    self.passed[name].add(lead)

    def totals(self) -> dict[str, int | None]:
        """How many each stage will see: known once the stage before it is finished."""
        names = list(STAGES)
        totals: dict[str, int | None] = {"imported": self.rows_total}
        for before, name in itertools.pairwise(names):
            totals[name] = len(self.passed[before]) if self._finished(before, totals[before]) else None
        totals["replied"] = None  # replies have no known end
        return totals

    def _finished(self, name: str, total: int | None) -> bool:
        if name == "imported":
            return self.import_done
        return total is not None and len(self.stages[name].done) >= total

    def snapshot(self) -> dict[str, Any]:
        now = self.clock()
        totals = self.totals()
        stages = {}
        for name, stage in self.stages.items():
            done = len(stage.done) if name != "imported" else max(self.rows_read, len(stage.done))
            rate = stage.rate(now)
            total = totals[name]
            eta = (total - done) / rate if total is not None and rate > 0 and total > done else None
            stages[name] = {"done": done, "total": total, "per_second": round(rate, 2), "eta_seconds": eta}
        return {"campaign_id": self.campaign_id, "import_done": self.import_done, "stages": stages}
