"""Every event model, importable from one place."""

from coldstream_shared.events.campaigns import CampaignAlert, CampaignImported, CampaignStarted
from coldstream_shared.events.emails import EmailFailed, EmailGenerated, EmailSent, EmailSuppressed, Touch
from coldstream_shared.events.envelope import Event, utcnow
from coldstream_shared.events.leads import (
    LeadBounced,
    LeadData,
    LeadRejected,
    LeadScraped,
    LeadUnsubscribed,
    LeadVerified,
)
from coldstream_shared.events.replies import ReplyCategory, ReplyClassified, ReplyReceived

ALL_EVENTS: tuple[type[Event], ...] = (
    CampaignStarted,
    CampaignImported,
    CampaignAlert,
    LeadScraped,
    LeadVerified,
    LeadRejected,
    LeadUnsubscribed,
    LeadBounced,
    EmailGenerated,
    EmailSent,
    EmailFailed,
    EmailSuppressed,
    ReplyReceived,
    ReplyClassified,
)

__all__ = [
    "ALL_EVENTS",
    "CampaignAlert",
    "CampaignImported",
    "CampaignStarted",
    "EmailFailed",
    "EmailGenerated",
    "EmailSent",
    "EmailSuppressed",
    "Event",
    "LeadBounced",
    "LeadData",
    "LeadRejected",
    "LeadScraped",
    "LeadUnsubscribed",
    "LeadVerified",
    "ReplyCategory",
    "ReplyClassified",
    "ReplyReceived",
    "Touch",
    "utcnow",
]
