"""Use case: a reply arrived (webhook or poll). Store it once, attribute it, and classify what the rules can.

The rules decide opt-outs, bounces and automatic replies on the spot, in the transaction that stores the reply:
those must never wait for (or depend on) a model. The rest goes to Claude when a key is set (see
`classify_with_model.py`), else the rules' verdict stands.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from coldstream_shared.events import ReplyReceived
from coldstream_shared.sql import insert_many_or_skip
from coldstream_shared.unit_of_work import UnitOfWork
from replies.actions import SERVICE, ApplyClassification
from replies.attribution import Attribution, Attributions
from replies.classifier import CLASSIFIER, Classification, classify
from replies.reply_text import fold, latest_reply
from replies.store import inbound_replies

VERDICT_COLUMNS = ("category", "confidence", "reasoning", "key_phrase", "return_date", "referral_email", "classifier")
AWAITING = dict.fromkeys(VERDICT_COLUMNS) | {"status": "awaiting_model", "classified_at": None}
REPLY_COLUMNS = (
    *VERDICT_COLUMNS,
    *("status", "classified_at", "reply_id", "fingerprint", "provider_email_id", "email", "lead_id", "campaign_id"),
    *("source", "received", "received_at"),
)
INSERT_REPLIES = insert_many_or_skip(inbound_replies, REPLY_COLUMNS, returning="reply_id")
# Replies classified (~0.3 ms each), then acted on, between two turns of the event loop: bounds the stall a large
# batch would cause to the requests waiting on the same loop.
YIELD_EVERY = 8
# What the rules settle for good; the model is only asked about the rest.
DECISIVE = frozenset({"unsubscribe", "bounce", "out_of_office", "auto_reply"})
# Categories a reply Instantly marked as automatic may keep; anything "human" becomes auto_reply.
AUTOMATIC = frozenset({"unsubscribe", "bounce", "out_of_office", "auto_reply", "wrong_person", "referral"})


@dataclass(frozen=True)
class IncomingReply:
    """A reply as a source delivered it; `key` identifies the delivery (for a deterministic event id)."""

    key: tuple[str, ...]
    email: str
    text: str
    subject: str | None
    received_at: datetime
    source: Literal["instantly_webhook", "instantly_poll"]
    step: int | None = None
    provider_email_id: str | None = None
    poll_id: str | None = None  # Instantly's email id when the poll found it (unique per reply)
    automatic: bool = False
    campaign_id: str | None = None  # Instantly's campaign id (ours only if sending registered it so)
    lead_id_hint: str | None = None
    campaign_id_hint: str | None = None


def fingerprint(reply: IncomingReply) -> str:
    """Same sender and same words = the same reply, whether the webhook or the poll brought it."""
    words = fold(latest_reply(reply.text))[:4000]
    # Without words there is nothing to compare: only the delivery itself identifies it.
    salt = "" if words else "|".join(reply.key)
    return hashlib.sha256(f"{reply.email}|{words}|{salt}".encode()).hexdigest()


def rules_verdict(text: str, subject: str | None, *, automatic: bool, today: date) -> Classification:
    """The rule classifier, with Instantly's own "this is automatic" flag taken into account."""
    verdict = classify(text, subject, today=today)
    if automatic and verdict.category not in AUTOMATIC:
        return Classification("auto_reply", 0.8, f"Instantly flagged it as automatic; {verdict.reasoning}")
    return verdict


class RecordReply:
    """Store, attribute, emit `reply.received`, and classify by rules when they are decisive (or all we have)."""

    def __init__(self, apply: ApplyClassification, team_id: str = "default", *, model_enabled: bool = False) -> None:
        self._apply = apply
        self._team_id = team_id
        self._model_enabled = model_enabled

    async def __call__(
        self, uow: UnitOfWork, reply: IncomingReply, known: Attributions | None = None
    ) -> ReplyReceived | None:
        """The `reply.received` event, or None when this reply was already recorded (by any source).

        `known`: attributions loaded for a whole batch; without it the address is looked up now.
        """
        [received] = await self.record_many(uow, [reply], known)
        return received

    async def record_many(
        self, uow: UnitOfWork, replies: list[IncomingReply], known: Attributions | None = None
    ) -> list[ReplyReceived | None]:
        """`__call__` for several replies, stored in one statement: each one's event, or None for a repeat.

        Two replies in the list that are the same reply (same sender, same words) are recorded once, as the first.
        """
        if known is None:
            known = await Attributions.load(uow.session, [r.email for r in replies if not _hinted(r)])
        decided = []
        for index, reply in enumerate(replies):
            if index and not index % YIELD_EVERY:
                await asyncio.sleep(0)  # a large batch is classified in slices: requests waiting on the loop go first
            decided.append(self._decide(reply, known))
        rows = [row for _, _, _, row in decided]
        stored = set(
            (await uow.session.execute(INSERT_REPLIES, {c: [r[c] for r in rows] for c in REPLY_COLUMNS})).scalars()
        )
        results: list[ReplyReceived | None] = []
        for index, (received, verdict, now, _) in enumerate(decided):
            if index and not index % YIELD_EVERY:
                await asyncio.sleep(0)
            if received.event_id not in stored:
                results.append(None)
                continue
            uow.emit(received)
            if now:
                await self._apply(uow, received, verdict, CLASSIFIER, row_updated=True)
            results.append(received)
        return results

    def _decide(
        self, reply: IncomingReply, known: Attributions
    ) -> tuple[ReplyReceived, Classification, bool, dict[str, Any]]:
        """The reply's event, the rules' verdict, whether it stands now, and the row to store."""
        who = _attribute(reply, known)
        received = ReplyReceived.originate(
            producer=SERVICE,
            key=(*reply.key, "received"),
            team_id=self._team_id,
            lead_id=who.lead_id,
            campaign_id=who.campaign_id,
            email=reply.email,
            text=reply.text,
            reply_subject=reply.subject,
            received_at=reply.received_at,
            source=reply.source,
            step=reply.step,
            provider_email_id=reply.provider_email_id,
        )
        verdict = rules_verdict(reply.text, reply.subject, automatic=reply.automatic, today=reply.received_at.date())
        now = verdict.category in DECISIVE or not self._model_enabled
        row = {
            # Decided now: the verdict goes in with the row (one statement, not an insert and an update).
            **(self._apply.columns(verdict, CLASSIFIER) if now else AWAITING),
            "reply_id": received.event_id,
            "fingerprint": fingerprint(reply),
            "provider_email_id": reply.poll_id,
            "email": reply.email,
            "lead_id": who.lead_id,
            "campaign_id": who.campaign_id,
            "source": reply.source,
            "received": received.model_dump(mode="json"),
            "received_at": received.received_at,
        }
        return received, verdict, now, row


def _hinted(reply: IncomingReply) -> bool:
    """Sending's custom variables, merged by Instantly, name the lead and campaign: nothing to look up."""
    return bool(reply.lead_id_hint and reply.campaign_id_hint)


def _attribute(reply: IncomingReply, known: Attributions) -> Attribution:
    if _hinted(reply):
        return Attribution(reply.lead_id_hint, reply.campaign_id_hint)
    return known.of(reply.email, reply.campaign_id)
