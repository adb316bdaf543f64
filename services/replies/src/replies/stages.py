"""Pipeline stages per lead (seed 001's list) and the pure rule for moving between them.

Events arrive out of order and from several producers (our classifier, sending's `email.sent`, Instantly's
interest webhooks), so a stage only moves when the move makes sense: the sequence only goes forward, a sales
outcome is never undone by a late sequence event, and `unsubscribed` is final.
"""

from __future__ import annotations

from coldstream_shared.events import ReplyCategory

STAGES: tuple[str, ...] = (
    "discovered",
    "enriched",
    "scored",
    "qualified",
    "rejected",
    "in_sequence",
    "touch_1_sent",
    "touch_2_sent",
    "touch_3_sent",
    "replied_interested",
    "call_permission_sent",
    "call_permission_granted",
    "call_attempted",
    "booked",
    "meeting_held",
    "became_client",
    "nurture",
    "closed_lost",
    "unsubscribed",
)
SEQUENCE = STAGES[:4] + STAGES[5:9]  # discovered .. touch_3_sent, without "rejected"
FUNNEL = STAGES[STAGES.index("replied_interested") : STAGES.index("became_client") + 1]

# What a reply's category says about the lead; categories absent here leave the stage alone.
CATEGORY_STAGE: dict[ReplyCategory, str] = {
    "interested": "replied_interested",
    "meeting_request": "replied_interested",
    "not_now": "nurture",
    "not_interested": "closed_lost",
    "unsubscribe": "unsubscribed",
    "bounce": "closed_lost",
}
# Instantly's interest webhooks (a person changed the lead's status in Unibox, or Instantly's AI did).
WEBHOOK_STAGE: dict[str, str] = {
    "lead_interested": "replied_interested",
    "lead_meeting_booked": "booked",
    "lead_meeting_completed": "meeting_held",
    "lead_closed": "became_client",
    "lead_not_interested": "closed_lost",
    "lead_unsubscribed": "unsubscribed",
    "email_bounced": "closed_lost",
}


def touch_stage(step: int) -> str:
    """The stage after sending touch `step`; the seed names three touches, later ones stay at the third."""
    return f"touch_{min(max(step, 1), 3)}_sent"


def should_move(current: str | None, proposed: str) -> bool:
    """Whether a lead at `current` moves to `proposed`."""
    if current is None:
        return True
    if current == proposed or current == "unsubscribed":
        return False  # never contact again, whatever arrives later
    if proposed == "unsubscribed":
        return True
    if proposed in SEQUENCE:
        return current in SEQUENCE and SEQUENCE.index(proposed) > SEQUENCE.index(current)
    if proposed == "rejected":
        return current in SEQUENCE
    if current == "became_client":
        return False
    if proposed in FUNNEL and current in FUNNEL:
        return FUNNEL.index(proposed) > FUNNEL.index(current)
    return True  # a reply outcome (funnel, nurture, closed_lost) replaces the sequence or an older outcome
