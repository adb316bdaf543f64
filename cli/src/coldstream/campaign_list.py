"""Every campaign the streams know, with its state (running, paused, waiting for an approval) and import counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coldstream.stream_scan import read_to_end


@dataclass
class CampaignRow:
    campaign_id: str
    name: str = ""
    started_at: str = ""
    backend: str = ""
    paused: str | None = None  # the reason, while paused
    waiting_for: set[str] = field(default_factory=set)  # manual gates not yet approved
    imported: dict[str, Any] | None = None
    alerts: int = 0
    archived: bool = False

    @property
    def state(self) -> str:
        if self.archived:
            return "archived"
        if self.paused:
            return "paused"
        if self.waiting_for:
            return "awaiting approval: " + ", ".join(sorted(self.waiting_for))
        return "running" if self.imported is None else "imported"

    def as_dict(self) -> dict[str, Any]:
        imported = self.imported or {}
        return {
            "campaign_id": self.campaign_id,
            "name": self.name,
            "state": self.state,
            "paused_reason": self.paused,
            "started_at": self.started_at,
            "backend": self.backend,
            "rows_read": imported.get("rows_read"),
            "published": imported.get("published"),
            "alerts": self.alerts,
        }


@dataclass
class Campaigns:
    rows: dict[str, CampaignRow] = field(default_factory=dict)

    def visit(self, subject: str, payload: dict[str, Any], headers: dict[str, str]) -> None:
        campaign_id = payload.get("campaign_id")
        if not isinstance(campaign_id, str):
            return
        row = self.rows.setdefault(campaign_id, CampaignRow(campaign_id))
        if subject == "campaign.started":
            spec = payload.get("campaign") or {}
            row.name = spec.get("name", "")
            row.started_at = str(payload.get("occurred_at", ""))
            row.backend = (spec.get("sending") or {}).get("backend", "file")
            approvals = spec.get("approvals") or {}
            row.waiting_for = {stage for stage, mode in approvals.items() if mode == "manual"}
        elif subject == "campaign.approved":
            row.waiting_for.discard(str(payload.get("stage")))
        elif subject == "campaign.paused":
            row.paused = str(payload.get("reason") or "paused")
        elif subject == "campaign.resumed":
            row.paused = None
        elif subject == "campaign.imported":
            row.imported = payload
        elif subject == "campaign.alert":
            row.alerts += 1
        elif subject == "campaign.archived":
            row.archived = True


async def list_campaigns(nats_url: str, *, include_archived: bool = False) -> list[dict[str, Any]]:
    """Campaigns in the order they were started (only those with a `campaign.started`)."""
    campaigns = Campaigns()
    await read_to_end(nats_url, campaigns.visit, streams=("CAMPAIGNS",))
    started = [r for r in campaigns.rows.values() if r.started_at and (include_archived or not r.archived)]
    return [row.as_dict() for row in sorted(started, key=lambda r: r.started_at)]
