"""Use case: a reply the rules left ambiguous gets the model's verdict (or, failing that, the rules').

The model is called outside any transaction (it can take seconds); the verdict is then applied in one, after
re-checking that nobody (a redelivery, a manual override) classified the reply meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select

from coldstream_shared.events import ReplyReceived
from coldstream_shared.unit_of_work import UnitOfWork
from replies.actions import ApplyClassification
from replies.classifier import CLASSIFIER, Classification
from replies.claude import ModelUnavailableError, ReplyModel
from replies.record_reply import rules_verdict
from replies.store import inbound_replies

log = logging.getLogger(__name__)


class ClassifyWithModel:
    """Consume `reply.received`; act only on replies this service stored as awaiting the model."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], model: ReplyModel, apply: ApplyClassification) -> None:
        self._uow = unit_of_work
        self._model = model
        self._apply = apply

    async def __call__(self, received: ReplyReceived) -> None:
        if not await self._awaiting(received):
            return
        today = received.received_at.date()
        try:
            verdict, classifier = await self._model.classify(received.text, received.reply_subject, today), None
        except ModelUnavailableError as error:
            log.warning("model %s gave no usable answer (%s); the rules decide", self._model.name, error)
            rules = rules_verdict(received.text, received.reply_subject, automatic=False, today=today)
            verdict = Classification(
                rules.category,
                rules.confidence,
                f"{rules.reasoning} (model unavailable: {str(error)[:200]})",
                rules.key_phrase,
                rules.return_date,
                rules.referral_email,
            )
            classifier = CLASSIFIER
        async with self._uow() as uow:
            if not await uow.claim(received):
                return
            if await self._awaiting(received, uow, lock=True):
                await self._apply(uow, received, verdict, classifier or self._model.name)
            await uow.commit()

    async def _awaiting(self, received: ReplyReceived, uow: UnitOfWork | None = None, *, lock: bool = False) -> bool:
        query = select(inbound_replies.c.status).where(inbound_replies.c.reply_id == received.event_id)
        if uow is not None:
            status = (await uow.session.execute(query.with_for_update() if lock else query)).scalar_one_or_none()
            return status == "awaiting_model"
        async with self._uow() as fresh:
            return (await fresh.session.execute(query)).scalar_one_or_none() == "awaiting_model"
