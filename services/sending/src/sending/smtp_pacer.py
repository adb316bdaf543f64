"""Before an SMTP touch is reserved: is it inside the send window, and which account has room for it?

Runs inside the reservation's transaction. Counting and choosing happen under one advisory lock, so two
replicas cannot both take an account's last slot of the hour.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from coldstream_shared.unit_of_work import UnitOfWork
from sending import ledger
from sending.pacing import Account, Window, choose_account, next_opening, zone
from sending.store import send_ledger

RETRY_WHEN_FULL = timedelta(minutes=10)


class SmtpPacer:
    """Holds SMTP touches outside their window or when every account is at its limit; assigns the account."""

    def __init__(self, unavailable: Callable[[], frozenset[str]] = frozenset) -> None:
        self._unavailable = unavailable

    async def hold(self, uow: UnitOfWork, row: Any, now: datetime) -> datetime | None:
        """None: go now (the row's `account` is set); else the time to look at the touch again."""
        campaign = await ledger.load_campaign(uow.session, row.campaign_id)
        sending = (campaign.sending if campaign else None) or {}
        opening = next_opening(now, Window.of(sending), zone(row.lead_timezone, sending.get("timezone", "UTC")))
        if opening > now:
            return opening
        await ledger.lock(uow.session, "smtp-accounts")
        accounts = await _accounts_with_usage(uow, sending, campaign, now)
        chosen = choose_account(accounts, self._unavailable())
        if chosen is None:
            return now + RETRY_WHEN_FULL
        await uow.session.execute(update(send_ledger).where(send_ledger.c.id == row.id).values(account=chosen.email))
        return None


async def _accounts_with_usage(uow: UnitOfWork, sending: dict[str, Any], campaign: Any, now: datetime) -> list[Account]:
    hourly = int(sending.get("hourly_limit", 10))
    configured = sending.get("accounts") or [
        {"email": campaign.from_email, "daily_limit": sending.get("daily_limit", 50)}
    ]
    emails = [a["email"] for a in configured]
    at = func.coalesce(send_ledger.c.sent_at, send_ledger.c.reserved_at)
    rows = await uow.session.execute(
        select(
            send_ledger.c.account,
            func.count().filter(at >= now - timedelta(days=1)).label("day"),
            func.count().filter(at >= now - timedelta(hours=1)).label("hour"),
        )
        .where(send_ledger.c.account.in_(emails), send_ledger.c.status.in_(("reserved", "sent")))
        .group_by(send_ledger.c.account)
    )
    usage = {r.account: (r.day, r.hour) for r in rows}
    return [
        Account(
            a["email"],
            int(a.get("daily_limit") or 50),
            int(a.get("hourly_limit") or hourly),
            *usage.get(a["email"], (0, 0)),
        )
        for a in configured
    ]
