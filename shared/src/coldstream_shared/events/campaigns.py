"""Campaign-level events."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from coldstream_shared import subjects
from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.events.envelope import Event


class CampaignStarted(Event):
    """A user started a campaign; every service keeps the part of it that it needs."""

    subject: ClassVar[str] = subjects.CAMPAIGN_STARTED
    campaign_id: str
    campaign: CampaignSpec
    started_by: str | None = None


class CampaignImported(Event):
    """Discovery finished reading every source of a campaign; the counters add up."""

    subject: ClassVar[str] = subjects.CAMPAIGN_IMPORTED
    campaign_id: str
    rows_read: int
    published: int
    rejected: int
    duplicates: int
    excluded: int = 0


class CampaignAlert(Event):
    """Something an operator must look at (bounce rate, budget, approval waiting)."""

    subject: ClassVar[str] = subjects.CAMPAIGN_ALERT
    campaign_id: str
    kind: str
    message: str
    details: dict[str, str | int | float | None] = Field(default_factory=dict)
