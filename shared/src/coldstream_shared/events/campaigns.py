"""Campaign-level events."""

from __future__ import annotations

from typing import ClassVar, Literal

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
    held: int = Field(0, ge=0, description="Scored leads waiting for `campaign approve --stage leads`.")


class CampaignAlert(Event):
    """Something an operator must look at (bounce rate, budget, approval waiting)."""

    subject: ClassVar[str] = subjects.CAMPAIGN_ALERT
    campaign_id: str
    kind: str
    message: str
    details: dict[str, str | int | float | None] = Field(default_factory=dict)


class CampaignProgress(Event):
    """How far an import has come; published every batch so operators see rows/s and an ETA."""

    subject: ClassVar[str] = subjects.CAMPAIGN_PROGRESS
    campaign_id: str
    source: str
    rows_read: int = Field(ge=0)
    rows_total: int | None = Field(None, ge=0, description="Known for files (estimated from size), else None.")
    rows_per_second: float = Field(ge=0)
    eta_seconds: float | None = Field(None, ge=0)
    done: bool = False


class CampaignApproved(Event):
    """A person released a human gate (seed 000: leads_approved_at/by, sending approval)."""

    subject: ClassVar[str] = subjects.CAMPAIGN_APPROVED
    campaign_id: str
    stage: Literal["leads", "sending"]
    approved_by: str


class CampaignPaused(Event):
    """Sending stops for a campaign: an alert (bounce rate) or an operator asked for it."""

    subject: ClassVar[str] = subjects.CAMPAIGN_PAUSED
    campaign_id: str
    reason: str
    paused_by: str = Field(description="'alert:<kind>' or the operator's name.")


class CampaignResumed(Event):
    """Sending may go on for a campaign."""

    subject: ClassVar[str] = subjects.CAMPAIGN_RESUMED
    campaign_id: str
    resumed_by: str


class CampaignArchived(Event):
    """An operator filed a campaign away: it is paused for good (a `campaign.paused` precedes this) and hidden
    from the campaign list; its history stays."""

    subject: ClassVar[str] = subjects.CAMPAIGN_ARCHIVED
    campaign_id: str
    archived_by: str
