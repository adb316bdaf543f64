"""Pure scheduling rules: when a follow-up is due."""

from __future__ import annotations

from datetime import datetime, timedelta


def due_after(previous: datetime, delay_days: int, *, business_days: bool) -> datetime:
    """When a touch `delay_days` after `previous` is due; business days skip Saturdays and Sundays."""
    if not business_days:
        return previous + timedelta(days=delay_days)
    due, remaining = previous, delay_days
    while remaining > 0:
        due += timedelta(days=1)
        if due.weekday() < 5:
            remaining -= 1
    return due
