"""Safety net: poll Instantly's emails for replies the webhooks missed (a disabled webhook, an outage).

The cursor (Instantly's `starting_after`, oldest first) is stored with each reply it passes, so a crash resumes
where it stopped. A reply the webhook already delivered has the same fingerprint and is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from coldstream_shared.unit_of_work import UnitOfWork
from replies.instantly import InstantlyClient
from replies.record_reply import IncomingReply, RecordReply
from replies.reply_text import html_to_text
from replies.store import poll_state

log = logging.getLogger(__name__)
CURSOR = "instantly_emails"


class PollReplies:
    """`run_once()` reads every email after the stored cursor and records the replies among them."""

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        instantly: InstantlyClient,
        record_reply: RecordReply,
        *,
        max_pages: int = 10,
    ) -> None:
        self._uow = unit_of_work
        self._instantly = instantly
        self._record = record_reply
        self._max_pages = max_pages

    async def run_once(self) -> int:
        """How many replies were new to us."""
        async with self._uow() as uow:
            cursor = (
                await uow.session.execute(select(poll_state.c.cursor).where(poll_state.c.name == CURSOR))
            ).scalar_one_or_none()
        new = 0
        for _ in range(self._max_pages):
            page = await self._instantly.list_emails(cursor)
            for item in page.items:
                async with self._uow() as uow:
                    reply = incoming(item)
                    if reply is not None and await self._record(uow, reply) is not None:
                        new += 1
                    cursor = str(item.get("id") or cursor or "") or None
                    await _save(uow.session, cursor, reply is not None)
                    await uow.commit()
            if not page.items or page.next_starting_after is None:
                break
        if new:
            log.info("the emails poll found %d replies the webhooks had not delivered", new)
        return new


async def _save(session: AsyncSession, cursor: str | None, counted: bool) -> None:
    values: dict[str, Any] = {"cursor": cursor, "checked_at": func.now()}
    statement = insert(poll_state).values(name=CURSOR, seen=int(counted), **values)
    values["seen"] = poll_state.c.seen + int(counted)
    await session.execute(statement.on_conflict_do_update(index_elements=["name"], set_=values))


def incoming(item: dict[str, Any]) -> IncomingReply | None:
    """A received email as a reply; None for what we sent (from our own mailbox) or what has no sender."""
    sender = _lower(item.get("from_address_email"))
    mailbox = _lower(item.get("eaccount"))
    item_id = item.get("id")
    if not sender or "@" not in sender or sender == mailbox or not isinstance(item_id, str) or not item_id:
        return None
    lead = _lower(item.get("lead"))
    body: dict[str, Any] = item["body"] if isinstance(item.get("body"), dict) else {}
    text = body.get("text") or html_to_text(str(body.get("html") or "")) or str(item.get("content_preview") or "")
    step = item.get("step")
    return IncomingReply(
        key=("poll", item_id),
        email=lead if lead and "@" in lead else sender,
        text=str(text),
        subject=item.get("subject") if isinstance(item.get("subject"), str) else None,
        received_at=_when(item.get("timestamp_email") or item.get("timestamp_created")),
        source="instantly_poll",
        step=step if isinstance(step, int) and not isinstance(step, bool) and step >= 0 else None,
        provider_email_id=item_id,
        poll_id=item_id,
        automatic=item.get("is_auto_reply") in (True, 1),
        campaign_id=item.get("campaign_id") if isinstance(item.get("campaign_id"), str) else None,
    )


def _lower(value: Any) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def _when(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
