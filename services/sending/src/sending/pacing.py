"""Pure pacing rules for the SMTP backend: the send window in the lead's timezone, and which account sends next."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class Window:
    """Local hours on chosen weekdays (0 = Monday) in which emails may leave."""

    start: time
    end: time
    weekdays: frozenset[int]

    @classmethod
    def of(cls, sending: Mapping[str, object]) -> Window:
        start = time.fromisoformat(str(sending.get("window_start", "09:00")))
        end = time.fromisoformat(str(sending.get("window_end", "17:00")))
        return cls(start, end, frozenset(int(d) for d in sending.get("weekdays", [0, 1, 2, 3, 4])))  # type: ignore[attr-defined]


def zone(name: str | None, fallback: str) -> ZoneInfo:
    """The lead's timezone when it is known and valid, else the campaign's (else UTC)."""
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def next_opening(now: datetime, window: Window, tz: ZoneInfo) -> datetime:
    """`now` when it is inside the window, else the next moment the window opens (aware, in UTC's terms)."""
    local = now.astimezone(tz)
    if not window.weekdays:
        raise ValueError("a send window needs at least one weekday")
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        if day.weekday() not in window.weekdays:
            continue
        opens = datetime.combine(day, window.start, tzinfo=tz)
        closes = datetime.combine(day, window.end, tzinfo=tz)
        if local < opens:
            return opens
        if local < closes:
            return now
    raise AssertionError("unreachable: a week always contains a chosen weekday")


@dataclass(frozen=True)
class Account:
    """A sending account's limits and what it sent recently."""

    email: str
    daily_limit: int
    hourly_limit: int
    sent_today: int = 0
    sent_this_hour: int = 0

    @property
    def has_room(self) -> bool:
        return self.sent_today < self.daily_limit and self.sent_this_hour < self.hourly_limit


def choose_account(accounts: Sequence[Account], unavailable: frozenset[str] = frozenset()) -> Account | None:
    """Rotation: the account with room that sent least today (ties: least this hour, then by address)."""
    candidates = [a for a in accounts if a.has_room and a.email not in unavailable]
    if not candidates:
        return None
    return min(candidates, key=lambda a: (a.sent_today, a.sent_this_hour, a.email))
