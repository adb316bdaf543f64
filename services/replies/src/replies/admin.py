"""Operator entry points (used by `coldstream replies ...`): the use cases on a short-lived connection."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from coldstream_shared.db import make_engine, make_sessionmaker
from coldstream_shared.events import ReplyClassified
from coldstream_shared.messaging import make_broker
from coldstream_shared.outbox import Outbox, Pending
from coldstream_shared.unit_of_work import UnitOfWork
from replies.actions import ActionOptions, ApplyClassification
from replies.override import Override, OverrideClassification, recent_replies
from replies.settings import RepliesSettings
from replies.store import outbox, processed

log = logging.getLogger(__name__)


class _PatientOutbox(Outbox):
    """Publishing from the CLI is a courtesy: once committed, the service's outbox relay publishes anyway."""

    unpublished = False

    async def publish(self, pending: Sequence[Pending]) -> None:
        try:
            await super().publish(pending)
            await self.mark_published()  # this process has no relay to do it: else the service republishes
        except Exception as error:
            log.warning("could not publish now (%s); the replies service will", error)
            self.unpublished = True


@asynccontextmanager
async def _units(database_url: str, nats_url: str) -> AsyncIterator[tuple[Any, _PatientOutbox]]:
    engine = make_engine(database_url, service="replies-cli", pooled=False)
    broker = make_broker(nats_url, service="replies-cli")
    sessions = make_sessionmaker(engine)
    box = _PatientOutbox(outbox, sessions, broker)
    try:
        try:
            await broker.connect()
        except Exception as error:
            log.warning("NATS unreachable (%s)", error)
        yield (lambda: UnitOfWork(sessions, processed, box)), box
    finally:
        await broker.stop()
        await engine.dispose()


async def override_reply(
    override: Override, database_url: str, nats_url: str, settings: RepliesSettings | None = None
) -> tuple[ReplyClassified, bool]:
    """Apply a manual override; returns the event and whether it was published now (else the service will)."""
    settings = settings or RepliesSettings()
    options = ActionOptions(
        notify=settings.notify_webhook_url is not None,
        instantly=settings.instantly_api_key is not None,
        nurture_default_days=settings.nurture_default_days,
    )
    async with _units(database_url, nats_url) as (unit_of_work, box):
        classified = await OverrideClassification(unit_of_work, ApplyClassification(options))(override)
        return classified, not box.unpublished


async def list_replies(database_url: str, **filters: Any) -> list[Any]:
    """The newest replies (see `override.recent_replies` for the filters)."""
    engine = make_engine(database_url, service="replies-cli", pooled=False)
    try:
        async with make_sessionmaker(engine)() as session:
            return await recent_replies(session, **filters)
    finally:
        await engine.dispose()
