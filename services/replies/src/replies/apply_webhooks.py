"""Use case: apply stored webhooks (replies, unsubscribes, bounces, interest changes) exactly once.

A webhook is acknowledged once its raw payload is stored (see `ingest_webhook.py`); applying it happens just
after, here, in a transaction of its own that also marks it applied. So a delivery is applied once however
often it arrives and whoever picks it up: the live path right after the acknowledgement, or the sweep that
finds what a crash or a failure left unapplied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ARRAY, String, any_, bindparam, select, update

from coldstream_shared.events import Event, LeadBounced, LeadUnsubscribed
from coldstream_shared.unit_of_work import UnitOfWork
from replies.actions import SERVICE
from replies.attribution import Attribution, Attributions
from replies.pipeline import move_stage
from replies.record_reply import IncomingReply, RecordReply
from replies.stages import WEBHOOK_STAGE
from replies.store import webhook_inbox
from replies.webhooks import BOUNCE_TYPES, REPLY_TYPES, UNSUBSCRIBE_TYPES, BadWebhookError, Webhook, from_payload

log = logging.getLogger(__name__)
ATTRIBUTED_TYPES = UNSUBSCRIBE_TYPES | BOUNCE_TYPES | frozenset(WEBHOOK_STAGE)
ACTING_TYPES = REPLY_TYPES | ATTRIBUTED_TYPES
# Marks the webhooks as applied and returns those no one applied before (a row lock makes a concurrent claim
# wait, then find them taken). Core `update()` is cached; `ANY(array)` keeps one statement for any batch size.
CLAIM = (
    update(webhook_inbox)
    .where(
        webhook_inbox.c.dedup_key == any_(bindparam("keys", type_=ARRAY(String))), webhook_inbox.c.applied_at.is_(None)
    )
    .values(applied_at=bindparam("now"))
    .returning(webhook_inbox.c.dedup_key)
)


def acts(hook: Webhook) -> bool:
    """Whether storing the webhook is not all there is to do."""
    return bool(hook.lead_email) and hook.event_type in ACTING_TYPES


def _nothing() -> None:
    """No one to tell at the commit."""


class ApplyWebhooks:
    """Apply stored webhooks in one transaction: claim them, attribute them, record and emit what they cause."""

    def __init__(
        self, unit_of_work: Callable[[], UnitOfWork], record_reply: RecordReply, team_id: str = "default"
    ) -> None:
        self._uow = unit_of_work
        self._record_reply = record_reply
        self._team_id = team_id

    async def __call__(self, hooks: list[Webhook], committed: Callable[[], None] = _nothing) -> int:
        """Apply those of `hooks` not applied yet; returns how many that was.

        `committed()` is called once the transaction has committed, before its events are published.
        """
        async with self._uow() as uow:
            keys = {"keys": [h.dedup_key for h in hooks], "now": datetime.now(UTC)}
            claimed = set((await uow.session.execute(CLAIM, keys)).scalars())
            mine = [hook for hook in hooks if hook.dedup_key in claimed and acts(hook)]
            # One lookup and one reply insert for the whole batch instead of one each per webhook.
            known = await Attributions.load(uow.session, [h.lead_email for h in mine if h.lead_email])
            replies = [hook for hook in mine if hook.event_type in REPLY_TYPES]
            await self._record_reply.record_many(uow, [_incoming(hook) for hook in replies], known)
            for hook in mine:
                if hook.event_type not in REPLY_TYPES:
                    await self._lead_event(uow, hook, known)
            await uow.commit()
            committed()
        return len(claimed)

    async def left_behind(self, limit: int, older_than: timedelta) -> list[Webhook]:
        """Stored webhooks still unapplied after `older_than`, oldest first."""
        async with self._uow() as uow:
            rows = (
                await uow.session.execute(
                    select(webhook_inbox.c.dedup_key, webhook_inbox.c.payload)
                    .where(
                        webhook_inbox.c.applied_at.is_(None),
                        webhook_inbox.c.received_at < datetime.now(UTC) - older_than,
                    )
                    .order_by(webhook_inbox.c.received_at)
                    .limit(limit)
                )
            ).all()
        return [hook for row in rows if (hook := _stored(row.dedup_key, row.payload)) is not None]

    async def _lead_event(self, uow: UnitOfWork, hook: Webhook, known: Attributions) -> None:
        email = hook.lead_email or ""  # `acts` made sure there is one
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


def _stored(key: str, payload: Any) -> Webhook | None:
    """A stored payload as a webhook, with the key it was stored under (the one its claim must match)."""
    try:
        hook = from_payload(payload)
    except BadWebhookError:  # it passed when it arrived; a payload edited by hand since is not ours to guess
        log.error("stored webhook %s no longer parses; left unapplied", key[:12])
        return None
    return replace(hook, dedup_key=key)


def _incoming(hook: Webhook) -> IncomingReply:
    return IncomingReply(
        key=(hook.dedup_key,),
        email=hook.lead_email or "",  # `acts` made sure there is one
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
