"""Use case: accept one Instantly webhook durably and turn it into events, exactly once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert

from coldstream_shared.events import Event, LeadBounced, LeadUnsubscribed, ReplyClassified, ReplyReceived
from coldstream_shared.unit_of_work import UnitOfWork
from replies.attribution import Attribution, attribute
from replies.classifier import CLASSIFIER, Classification, bounce_kind, classify
from replies.store import webhook_inbox
from replies.webhooks import BOUNCE_TYPES, REPLY_TYPES, UNSUBSCRIBE_TYPES, Webhook

SERVICE = "replies"
log = logging.getLogger(__name__)
# Categories a reply Instantly marked as automatic may keep; anything "human" becomes auto_reply.
AUTOMATIC = frozenset({"unsubscribe", "bounce", "out_of_office", "auto_reply", "wrong_person", "referral"})


class IngestWebhook:
    """Store the raw webhook, apply it, and emit its events in one transaction."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], team_id: str = "default") -> None:
        self._uow = unit_of_work
        self._team_id = team_id

    async def __call__(self, hook: Webhook) -> bool:
        """True when this delivery is new, False for a replay. Either way it is durable when this returns."""
        async with self._uow() as uow:
            stored = await uow.session.execute(
                insert(webhook_inbox)
                .values(dedup_key=hook.dedup_key, event_type=hook.event_type, payload=hook.payload)
                .on_conflict_do_nothing()
                .returning(webhook_inbox.c.dedup_key)
            )
            if stored.first() is None:
                log.info("webhook %s %s is a replay; already applied", hook.event_type, hook.dedup_key[:12])
                return False
            if hook.lead_email and hook.event_type in REPLY_TYPES | UNSUBSCRIBE_TYPES | BOUNCE_TYPES:
                who = await attribute(uow.session, hook.lead_email, hook.campaign_id)
                uow.emit(*self._events(hook, hook.lead_email, who))
            await uow.commit()
        log.info("webhook %s %s stored", hook.event_type, hook.dedup_key[:12])
        return True

    def _events(self, hook: Webhook, email: str, who: Attribution) -> list[Event]:
        common: dict[str, Any] = {
            "producer": SERVICE,
            "team_id": self._team_id,
            "lead_id": who.lead_id,
            "campaign_id": who.campaign_id,
        }
        if hook.event_type in UNSUBSCRIBE_TYPES:
            return [
                LeadUnsubscribed.originate(
                    key=(hook.dedup_key, "unsubscribed"),
                    email=email,
                    source="webhook",
                    reason="Instantly lead_unsubscribed",
                    **common,
                )
            ]
        if hook.event_type in BOUNCE_TYPES:
            return [
                LeadBounced.originate(
                    key=(hook.dedup_key, "bounced"),
                    email=email,
                    bounce_type="hard",
                    reason="Instantly email_bounced",
                    **common,
                )
            ]
        return self._reply_events(hook, email, common)

    @staticmethod
    def _reply_events(hook: Webhook, email: str, common: dict[str, Any]) -> list[Event]:
        text = hook.reply_text or ""
        received = ReplyReceived.originate(
            key=(hook.dedup_key, "received"),
            email=email,
            text=text,
            reply_subject=hook.reply_subject,
            received_at=hook.timestamp or datetime.now(UTC),
            source="instantly_webhook",
            step=hook.step,
            provider_email_id=hook.email_id,
            **common,
        )
        verdict = classify(text, hook.reply_subject, today=received.received_at.date())
        if hook.event_type == "auto_reply_received" and verdict.category not in AUTOMATIC:
            verdict = Classification("auto_reply", 0.8, f"Instantly flagged it as automatic; {verdict.reasoning}")
        events: list[Event] = [received, _classified(received, email, verdict)]
        if verdict.category == "unsubscribe":
            events.append(
                LeadUnsubscribed.caused_by(
                    received, producer=SERVICE, email=email, source="reply", reason=verdict.reasoning
                )
            )
        elif verdict.category == "bounce":
            events.append(
                LeadBounced.caused_by(
                    received, producer=SERVICE, email=email, bounce_type=bounce_kind(text), reason=verdict.reasoning
                )
            )
        return events


def _classified(received: ReplyReceived, email: str, verdict: Classification) -> ReplyClassified:
    return ReplyClassified.caused_by(
        received,
        producer=SERVICE,
        key=CLASSIFIER,
        email=email,
        category=verdict.category,
        confidence=verdict.confidence,
        reasoning=verdict.reasoning,
        key_phrase=verdict.key_phrase,
        return_date=verdict.return_date,
        referral_email=verdict.referral_email,
        classifier=CLASSIFIER,
    )
