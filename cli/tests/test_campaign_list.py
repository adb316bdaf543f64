"""`coldstream campaign list`: state from the campaign events (manual gates, pauses, imports)."""

from __future__ import annotations

from coldstream.campaign_list import Campaigns


def test_state_follows_gates_pauses_and_imports() -> None:
    campaigns = Campaigns()
    spec = {"name": "Spring", "sending": {"backend": "instantly"}, "approvals": {"leads": "manual", "sending": "auto"}}
    campaigns.visit("campaign.started", {"campaign_id": "c", "campaign": spec, "occurred_at": "2026-11-01T09:00"}, {})
    row = campaigns.rows["c"]
    assert row.state == "awaiting approval: leads"
    campaigns.visit("campaign.approved", {"campaign_id": "c", "stage": "leads"}, {})
    assert row.state == "running"
    campaigns.visit("campaign.paused", {"campaign_id": "c", "reason": "bounce rate 7% > 5%"}, {})
    campaigns.visit("campaign.alert", {"campaign_id": "c"}, {})
    assert row.as_dict()["state"] == "paused"
    assert row.as_dict()["paused_reason"] == "bounce rate 7% > 5%"
    campaigns.visit("campaign.resumed", {"campaign_id": "c"}, {})
    campaigns.visit("campaign.imported", {"campaign_id": "c", "rows_read": 10, "published": 8}, {})
    assert row.as_dict() | {"started_at": ""} == {
        "campaign_id": "c",
        "name": "Spring",
        "state": "imported",
        "paused_reason": None,
        "started_at": "",
        "backend": "instantly",
        "rows_read": 10,
        "published": 8,
        "alerts": 1,
    }


def test_archived_campaigns_are_marked() -> None:
    campaigns = Campaigns()
    campaigns.visit("campaign.started", {"campaign_id": "old", "campaign": {}, "occurred_at": "2026-01-01"}, {})
    campaigns.visit("campaign.paused", {"campaign_id": "old", "reason": "archived"}, {})
    campaigns.visit("campaign.archived", {"campaign_id": "old", "archived_by": "ops"}, {})
    assert campaigns.rows["old"].state == "archived"
