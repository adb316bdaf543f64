"""Use case: what a classified reply demands, done in the caller's transaction.

Every consequence is either an event in the outbox (classified, unsubscribed, bounced, proposed), a row (stage,
nurture), or a queued call out (notification, Instantly interest status) that a loop delivers later. So the
reply, its classification and everything it causes commit together, and a slow or failing endpoint never
loses or blocks a reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert

from coldstream_shared.events import Event, LeadBounced, LeadProposed, LeadUnsubscribed, ReplyClassified, ReplyReceived
from coldstream_shared.ids import stable_id
from coldstream_shared.unit_of_work import UnitOfWork
from replies.classifier import Classification, bounce_kind, complained_about, complaint
from replies.pipeline import move_stage
from replies.stages import CATEGORY_STAGE
from replies.store import inbound_replies, nurture, pending_actions

SERVICE = "replies"
# The suppression reason sending keeps for a spam complaint (see sending.ledger.COMPLAINT).
COMPLAINT = "complaint"
NOTIFY = frozenset({"interested", "meeting_request"})
# Instantly's lt_interest_status values (1 Interested, -1 Not Interested, -2 Wrong Person, 0 Out of Office).
# A meeting *request* is not "2 Meeting Booked": nothing is booked yet.
INTEREST_VALUE: dict[str, int] = {
    "interested": 1,
    "meeting_request": 1,
    "not_interested": -1,
    "wrong_person": -2,
    "out_of_office": 0,
}


@dataclass(frozen=True)
class ActionOptions:
    """Which optional actions are configured."""

    notify: bool = False
    instantly: bool = False
    nurture_default_days: int = 90


class ApplyClassification:
    """Record a verdict on a stored reply and emit/queue what it causes."""

    def __init__(self, options: ActionOptions) -> None:
        self._options = options

    async def __call__(
        self,
        uow: UnitOfWork,
        received: ReplyReceived,
        verdict: Classification,
        classifier: str,
        key: object = None,
        *,
        row_updated: bool = False,
    ) -> ReplyClassified:
        """Apply `verdict`; `key` makes a re-classification (manual override) a new event.

        `row_updated`: the caller already stored `columns(verdict, classifier)` in the reply's row.
        """
        classified = ReplyClassified.caused_by(
            received,
            producer=SERVICE,
            key=key if key is not None else classifier,
            email=received.email,
            category=verdict.category,
            confidence=verdict.confidence,
            reasoning=verdict.reasoning[:2000],
            key_phrase=verdict.key_phrase,
            return_date=verdict.return_date,
            referral_email=verdict.referral_email,
            classifier=classifier,
        )
        if not row_updated:
            await uow.session.execute(
                update(inbound_replies)
                .where(inbound_replies.c.reply_id == received.event_id)
                .values(**self.columns(verdict, classifier))
            )
        uow.emit(classified, *self._consequences(received, classified, verdict))
        if (stage := CATEGORY_STAGE.get(verdict.category)) and received.lead_id:
            await move_stage(uow.session, received.lead_id, received.campaign_id, stage, f"reply: {verdict.category}")
        if verdict.category == "not_now":
            await self._nurture(uow, received, verdict)
        await self._queue_calls(uow, received, classified)
        return classified

    @staticmethod
    def columns(verdict: Classification, classifier: str) -> dict[str, Any]:
        """The reply row's classification columns for `verdict`."""
        return {
            "status": "classified",
            "category": verdict.category,
            "confidence": verdict.confidence,
            "reasoning": verdict.reasoning[:2000],
            "key_phrase": verdict.key_phrase,
            "return_date": verdict.return_date,
            "referral_email": verdict.referral_email,
            "classifier": classifier,
            "classified_at": datetime.now(UTC),
        }

    @staticmethod
    def _consequences(received: ReplyReceived, classified: ReplyClassified, verdict: Classification) -> list[Event]:
        email = received.email
        if verdict.category == "unsubscribe":
            if complaint(received.text, received.reply_subject):
                # Sending keeps `complaint` as the entry's reason (sticky); an ARF report names the recipient.
                email, reason = complained_about(received.text) or email, COMPLAINT
            else:
                reason = verdict.reasoning[:500]
            return [
                LeadUnsubscribed.caused_by(classified, producer=SERVICE, email=email, source="reply", reason=reason)
            ]
        if verdict.category == "bounce":
            kind = bounce_kind(received.text)
            return [
                LeadBounced.caused_by(
                    classified, producer=SERVICE, email=email, bounce_type=kind, reason=verdict.reasoning[:500]
                )
            ]
        contact = (verdict.referral_email or "").strip().lower()
        # Discovery needs our campaign id: an unattributed reply's referral stays in the reply row only.
        if verdict.category in {"referral", "wrong_person"} and contact and contact != email and received.campaign_id:
            return [
                LeadProposed.caused_by(
                    classified,
                    producer=SERVICE,
                    campaign_id=received.campaign_id,
                    email=contact,
                    referred_by=email,
                    reason=verdict.category,
                )
            ]
        return []

    async def _nurture(self, uow: UnitOfWork, received: ReplyReceived, verdict: Classification) -> None:
        stated = verdict.return_date
        when = stated or _days_after(received.received_at.date(), self._options.nurture_default_days)
        note = f"they said: {verdict.key_phrase}" if verdict.key_phrase else "not now"
        if not stated:
            note += f" (no date stated: default {self._options.nurture_default_days} days)"
        values: dict[str, Any] = {
            "lead_id": received.lead_id,
            "campaign_id": received.campaign_id,
            "recontact_on": when,
            "note": note,
            "reply_id": received.event_id,
        }
        statement = insert(nurture).values(email=received.email, **values)
        await uow.session.execute(statement.on_conflict_do_update(index_elements=["email"], set_=values))

    async def _queue_calls(self, uow: UnitOfWork, received: ReplyReceived, classified: ReplyClassified) -> None:
        rows: list[dict[str, Any]] = []
        if self._options.notify and classified.category in NOTIFY:
            rows.append({"kind": "notify", "payload": {"text": notification_text(received, classified)}})
        value = INTEREST_VALUE.get(classified.category)
        if self._options.instantly and value is not None:
            payload = {"lead_email": received.email, "interest_value": value}
            rows.append({"kind": "interest", "payload": payload})
        for row in rows:
            row |= {"action_id": stable_id("action", classified.event_id, row["kind"]), "reply_id": received.event_id}
        if rows:
            await uow.session.execute(insert(pending_actions).values(rows).on_conflict_do_nothing())


def _days_after(day: date, days: int) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:  # a webhook timestamped in year 9999
        return date.max


def notification_text(received: ReplyReceived, classified: ReplyClassified) -> str:
    """The Slack line: who, what, and the words that decided it."""
    label = classified.category.replace("_", " ")
    where = f" (campaign {received.campaign_id})" if received.campaign_id else ""
    said = classified.key_phrase or received.text[:200]
    return f":incoming_envelope: {label} reply from {received.email}{where}: “{said.strip()}”"
