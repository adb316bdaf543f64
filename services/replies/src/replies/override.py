"""Use case: a person corrects a reply's classification; kept with who and when, and republished.

The correction is a new `reply.classified` (classifier `manual:<user>`) caused by the original
`reply.received`, with the same consequences as any classification: an override to `unsubscribe` suppresses,
to `interested` notifies. An override cannot undo a suppression: opt-outs are sticky by design (sending's
`suppressions` command is the audited way to lift one).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, get_args

from sqlalchemy import String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession

from coldstream_shared.events import ReplyCategory, ReplyClassified, ReplyReceived
from coldstream_shared.unit_of_work import UnitOfWork
from replies.actions import ApplyClassification
from replies.classifier import Classification
from replies.store import classification_overrides, inbound_replies

CATEGORIES: tuple[str, ...] = get_args(ReplyCategory)
MIN_PREFIX = 6


class OverrideError(ValueError):
    """The override cannot be applied; the message says why."""


@dataclass(frozen=True)
class Override:
    reply_id: str  # the full id or a unique prefix (as `replies list` shows it)
    category: str  # checked against ReplyCategory by the use case
    by: str
    note: str | None = None
    return_date: date | None = None
    referral_email: str | None = None


class OverrideClassification:
    """Store the override and apply it like any verdict, in one transaction."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], apply: ApplyClassification) -> None:
        self._uow = unit_of_work
        self._apply = apply

    async def __call__(self, override: Override) -> ReplyClassified:
        if override.category not in CATEGORIES:
            raise OverrideError(f"unknown category {override.category!r}; one of: {', '.join(CATEGORIES)}")
        async with self._uow() as uow:
            row = await find_reply(uow, override.reply_id, lock=True)
            received = ReplyReceived.model_validate(row.received)
            override_id = uuid.uuid4()
            await uow.session.execute(
                classification_overrides.insert().values(
                    override_id=override_id,
                    reply_id=row.reply_id,
                    previous_category=row.category,
                    category=override.category,
                    overridden_by=override.by,
                    note=override.note,
                )
            )
            verdict = Classification(
                cast_category(override.category),
                1.0,
                f"manual override by {override.by}" + (f": {override.note}" if override.note else ""),
                None,
                override.return_date or (row.return_date if override.category == row.category else None),
                override.referral_email or (row.referral_email if override.category == row.category else None),
            )
            classified = await self._apply(uow, received, verdict, f"manual:{override.by}", key=("manual", override_id))
            await uow.commit()
        return classified


def cast_category(value: str) -> ReplyCategory:
    assert value in CATEGORIES
    return value  # type: ignore[return-value]


async def find_reply(uow: UnitOfWork, reply_id: str, *, lock: bool = False) -> Any:
    """The reply with this id or unique id prefix; OverrideError when none or several match."""
    wanted = reply_id.strip().lower()
    if len(wanted) < MIN_PREFIX:
        raise OverrideError(f"give at least {MIN_PREFIX} characters of the reply id")
    query = select(inbound_replies).where(cast(inbound_replies.c.reply_id, String).like(f"{wanted}%")).limit(2)
    rows = (await uow.session.execute(query.with_for_update() if lock else query)).all()
    if not rows:
        raise OverrideError(f"no reply with id {reply_id!r}")
    if len(rows) > 1:
        raise OverrideError(f"{reply_id!r} matches several replies; give more characters")
    return rows[0]


async def recent_replies(
    session: AsyncSession, *, campaign_id: str | None = None, category: str | None = None, limit: int = 50
) -> list[Any]:
    """The newest replies, optionally of one campaign or category (for `coldstream replies list`)."""
    table = inbound_replies
    query = select(
        table.c.reply_id,
        table.c.received_at,
        table.c.email,
        table.c.campaign_id,
        table.c.status,
        table.c.category,
        table.c.confidence,
        table.c.classifier,
        table.c.key_phrase,
    ).order_by(table.c.received_at.desc())
    if campaign_id:
        query = query.where(table.c.campaign_id == campaign_id)
    if category:
        query = query.where(table.c.category == category)
    return list((await session.execute(query.limit(limit))).all())
