"""Use case: accept Instantly webhooks durably and turn them into events, exactly once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert

from coldstream_shared.events import Event, LeadBounced, LeadUnsubscribed
from coldstream_shared.unit_of_work import UnitOfWork
from replies.actions import SERVICE
from replies.attribution import Attribution, Attributions
from replies.pipeline import move_stage
from replies.record_reply import IncomingReply, RecordReply
from replies.stages import WEBHOOK_STAGE
from replies.store import webhook_inbox
from replies.webhooks import BOUNCE_TYPES, REPLY_TYPES, UNSUBSCRIBE_TYPES, Webhook

log = logging.getLogger(__name__)
ATTRIBUTED_TYPES = UNSUBSCRIBE_TYPES | BOUNCE_TYPES | frozenset(WEBHOOK_STAGE)


class IngestWebhook:
    """Store raw webhooks, apply them, and emit their events in one transaction."""

    def __init__(
        self, unit_of_work: Callable[[], UnitOfWork], record_reply: RecordReply, team_id: str = "default"
    ) -> None:
        self._uow = unit_of_work
        self._record_reply = record_reply
        self._team_id = team_id

    async def __call__(self, hook: Webhook) -> bool:
        """True when this delivery is new, False for a replay. Either way it is durable when this returns."""
        [new] = await self.store_batch([hook])
        return new

    async def store_batch(self, hooks: list[Webhook]) -> list[bool]:
        """Several deliveries in one transaction (one commit): whether each was new."""
        first: dict[str, int] = {}
        for index, hook in enumerate(hooks):
            first.setdefault(hook.dedup_key, index)
        new: list[bool] = []
        committed = False
        try:
            async with self._uow() as uow:
                new = await self._store(uow, hooks, first)
                await uow.commit()
                committed = True
        except Exception:
            if not committed:
                raise
            # Durable already: the outbox relay publishes what this transaction stored. Never a 5xx for it.
            log.warning("webhooks stored; publishing their events is left to the outbox relay", exc_info=True)
        return new

    async def _store(self, uow: UnitOfWork, hooks: list[Webhook], first: dict[str, int]) -> list[bool]:
        # Sorted: concurrent batches take the key locks in the same order, so they cannot deadlock.
        rows = [
            {"dedup_key": hooks[i].dedup_key, "event_type": hooks[i].event_type, "payload": hooks[i].payload}
            for _, i in sorted(first.items())
        ]
        # executemany with RETURNING: SQLAlchemy sends it as one multi-row INSERT, compiled once for any batch size.
        stored = await uow.session.execute(
            insert(webhook_inbox).on_conflict_do_nothing().returning(webhook_inbox.c.dedup_key), rows
        )
        inserted = set(stored.scalars())
        new = [hook.dedup_key in inserted and first[hook.dedup_key] == i for i, hook in enumerate(hooks)]
        acting = [hook for hook, is_new in zip(hooks, new, strict=True) if is_new and _acts(hook)]
        # One lookup for the whole batch instead of one per webhook.
        known = await Attributions.load(uow.session, [h.lead_email for h in acting if h.lead_email])
        for hook in acting:
            await self._apply(uow, hook, known)
        return new

    async def _apply(self, uow: UnitOfWork, hook: Webhook, known: Attributions) -> None:
        if hook.lead_email and hook.event_type in REPLY_TYPES:
            await self._record_reply(uow, _incoming(hook, hook.lead_email), known)
        elif hook.lead_email and hook.event_type in ATTRIBUTED_TYPES:
            await self._lead_event(uow, hook, hook.lead_email, known)

    async def _lead_event(self, uow: UnitOfWork, hook: Webhook, email: str, known: Attributions) -> None:
        if hook.lead_id_hint and hook.campaign_id_hint:
            who = Attribution(hook.lead_id_hint, hook.campaign_id_hint)
        else:
            who = known.of(email, hook.campaign_id)
        uow.emit(*self._events(hook, email, who))
        if who.lead_id and (stage := WEBHOOK_STAGE.get(hook.event_type)):
            await move_stage(uow.session, who.lead_id, who.campaign_id, stage, f"instantly: {hook.event_type}")

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
        return []  # interest webhooks only move the pipeline stage


def _acts(hook: Webhook) -> bool:
    """Whether storing the webhook is not all there is to do."""
    return bool(hook.lead_email) and hook.event_type in REPLY_TYPES | ATTRIBUTED_TYPES


def _incoming(hook: Webhook, email: str) -> IncomingReply:
    return IncomingReply(
        key=(hook.dedup_key,),
        email=email,
        text=hook.reply_text or "",
        subject=hook.reply_subject,
        received_at=hook.timestamp or datetime.now(UTC),
        source="instantly_webhook",
        step=hook.step,
        provider_email_id=hook.email_id,
        automatic=hook.event_type == "auto_reply_received",
        campaign_id=hook.campaign_id,
        lead_id_hint=hook.lead_id_hint,
        campaign_id_hint=hook.campaign_id_hint,
    )
