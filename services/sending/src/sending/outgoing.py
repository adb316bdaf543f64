"""What a ledger row turns into on the way out: the email itself, and the events that say what became of it."""

from __future__ import annotations

from typing import Any

from coldstream_shared.events import EmailSent
from sending import ledger
from sending.compose import OutgoingEmail, message_id_for
from sending.ledger import LedgerRow
from sending.mailer import DeliveryResult

SERVICE = "sending"


def outgoing(row: LedgerRow, campaign: Any) -> OutgoingEmail:
    """The email a ledger row stands for, in the campaign's sending identity; follow-ups thread under earlier ones."""
    # Message-IDs are derived from the touch id, so the earlier touches' ids are known without a lookup.
    earlier = tuple(
        message_id_for(ledger.touch_id(row.lead_id, row.campaign_id, step), campaign.from_email)
        for step in range(1, row.step)
    )
    return OutgoingEmail(
        ledger_id=row.id,
        campaign_id=row.campaign_id,
        lead_id=row.lead_id,
        step=row.step,
        from_name=campaign.from_name,
        from_email=campaign.from_email,
        reply_to=campaign.reply_to,
        to=row.email,
        subject=row.subject,
        body=row.body,
        unsubscribe_token=row.unsubscribe_token,
        date=row.reserved_at,
        footer_text=(campaign.sending or {}).get("footer_text"),
        sender=row.account,
        pause_range=(
            float((campaign.sending or {}).get("min_delay_seconds", 0)),
            float((campaign.sending or {}).get("max_delay_seconds", 0)),
        ),
        in_reply_to=earlier[-1] if earlier else None,
        references=earlier,
    )


def sent_event(row: LedgerRow, result: DeliveryResult) -> EmailSent:
    """`email.sent` for a recorded touch (its id derives from the touch: a re-record is the same event)."""
    return EmailSent.originate(
        producer=SERVICE,
        key=row.id,
        **envelope(row),
        email=row.email,
        step=row.step,
        variant=row.variant,
        backend=result.backend,
        message_id=result.message_id,
        subject_line=row.subject,
        unsubscribe_token=row.unsubscribe_token,
    )


def envelope(row: LedgerRow) -> dict[str, Any]:
    return {
        "team_id": row.team_id,
        "campaign_id": row.campaign_id,
        "lead_id": row.lead_id,
        "correlation_id": row.lead_id,
        "causation_id": row.causation_id,
    }
