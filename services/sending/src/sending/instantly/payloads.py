"""Pure translation of our campaign and touches into Instantly API v2 bodies.

The Instantly campaign carries no copy of its own: every step's subject and body are custom variables filled per
lead (`{{subject_1}}`, `{{body_1}}`, ...), because our copy is written per lead by personalization.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Scalar = str | int | float | bool | None


def instantly_name(campaign_id: str) -> str:
    """The name our campaign has at Instantly: unique, so a lookup by name finds it after a crash."""
    return f"coldstream:{campaign_id}"


def instantly_days(weekdays: Sequence[int]) -> dict[str, bool]:
    """Our weekdays (0 = Monday) as Instantly's `days` ("0" = Sunday, like JavaScript's getDay)."""
    chosen = {(day + 1) % 7 for day in weekdays}
    return {str(day): day in chosen for day in range(7)}


def campaign_payload(campaign_id: str, step_delays: Sequence[int], sending: Mapping[str, Any]) -> dict[str, Any]:
    """POST /api/v2/campaigns for our campaign: schedule, accounts, limits, stop rules, variable-driven steps."""
    options = sending.get("instantly") or {}
    steps = []
    for index in range(len(step_delays)):
        # Instantly's `delay` on a step is the wait *before the next one*; ours is the wait before this one.
        gap = step_delays[index + 1] if index + 1 < len(step_delays) else 0
        steps.append(
            {
                "type": "email",
                "delay": gap,
                "delay_unit": "days",
                "variants": [{"subject": f"{{{{subject_{index + 1}}}}}", "body": f"{{{{body_{index + 1}}}}}"}],
            }
        )
    payload: dict[str, Any] = {
        "name": instantly_name(campaign_id),
        "campaign_schedule": {
            "schedules": [
                {
                    "name": "coldstream window",
                    "timing": {"from": sending.get("window_start", "09:00"), "to": sending.get("window_end", "17:00")},
                    "days": instantly_days(sending.get("weekdays", [0, 1, 2, 3, 4])),
                    "timezone": sending.get("timezone", "UTC"),
                }
            ]
        },
        "sequences": [{"steps": steps}],
        "daily_limit": sending.get("daily_limit", 50),
        "stop_on_reply": options.get("stop_on_reply", True),
        "stop_on_auto_reply": options.get("stop_on_auto_reply", False),
        "stop_for_company": sending.get("stop_for_company", False),
        "insert_unsubscribe_header": options.get("insert_unsubscribe_header", True),
        "open_tracking": options.get("open_tracking", False),
        "link_tracking": options.get("link_tracking", False),
        "text_only": options.get("text_only", True),
    }
    accounts = [account["email"] for account in sending.get("accounts", [])]
    if accounts:
        payload["email_list"] = accounts
    return payload


def lead_payload(email: str, touches: Sequence[tuple[int, str, str]]) -> dict[str, Any]:
    """One lead for POST /api/v2/leads/add: its copy as scalar custom variables (Instantly allows no nesting)."""
    variables: dict[str, Scalar] = {}
    for step, subject, body in touches:
        variables[f"subject_{step}"] = subject
        variables[f"body_{step}"] = body
    return {"email": email, "custom_variables": variables}
