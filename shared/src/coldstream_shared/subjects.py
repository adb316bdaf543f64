"""NATS subjects: `<noun>.<past-tense verb>`.

A breaking change to an event gets a new model and a `.v2` subject; adding an optional field does not.
"""

from typing import Final

CAMPAIGN_STARTED: Final = "campaign.started"
CAMPAIGN_IMPORTED: Final = "campaign.imported"
CAMPAIGN_ALERT: Final = "campaign.alert"
CAMPAIGN_PROGRESS: Final = "campaign.progress"
CAMPAIGN_APPROVED: Final = "campaign.approved"
CAMPAIGN_PAUSED: Final = "campaign.paused"
CAMPAIGN_RESUMED: Final = "campaign.resumed"
CAMPAIGN_ARCHIVED: Final = "campaign.archived"

LEAD_SCRAPED: Final = "lead.scraped"
LEAD_VERIFIED: Final = "lead.verified"
LEAD_REJECTED: Final = "lead.rejected"
LEAD_UNSUBSCRIBED: Final = "lead.unsubscribed"
LEAD_BOUNCED: Final = "lead.bounced"
LEAD_PROPOSED: Final = "lead.proposed"

EMAIL_GENERATED: Final = "email.generated"
EMAIL_SENT: Final = "email.sent"
EMAIL_FAILED: Final = "email.failed"
EMAIL_SUPPRESSED: Final = "email.suppressed"
EMAIL_HELD: Final = "email.held"
EMAIL_CANCELLED: Final = "email.cancelled"

REPLY_RECEIVED: Final = "reply.received"
REPLY_CLASSIFIED: Final = "reply.classified"

# Dead letters: dlq.<service>.<original subject>
DLQ_PREFIX: Final = "dlq"


def dead_letter_subject(service: str, original_subject: str) -> str:
    """Where a poison event consumed by `service` from `original_subject` is parked."""
    return f"{DLQ_PREFIX}.{service}.{original_subject}"
