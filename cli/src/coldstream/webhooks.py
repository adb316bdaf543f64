"""Posting Instantly-shaped webhooks (for `coldstream reply`, the demo and tests)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import httpx


def instantly_payload(event_type: str, email: str, text: str, campaign_id: str | None = None) -> dict[str, Any]:
    """A payload with the documented fields of an Instantly webhook."""
    return {
        "timestamp": datetime.now(UTC).isoformat(),
        "event_type": event_type,
        "workspace": os.environ.get("COLDSTREAM_TEAM_ID", "default"),
        "campaign_id": campaign_id or "",
        "campaign_name": campaign_id or "",
        "lead_email": email,
        "reply_text": text,
        "reply_text_snippet": text[:100],
        "reply_subject": "Re: our conversation",
    }


def post_instantly_event(
    base_url: str, event_type: str, email: str, text: str, campaign_id: str | None = None
) -> tuple[int, str]:
    """POST one webhook; the shared secret comes from COLDSTREAM_WEBHOOK_SECRET when set."""
    headers = {}
    secret = os.environ.get("COLDSTREAM_WEBHOOK_SECRET")
    if secret:
        headers[os.environ.get("COLDSTREAM_WEBHOOK_SECRET_HEADER", "X-Webhook-Secret")] = secret
    response = httpx.post(
        f"{base_url.rstrip('/')}/webhooks/instantly",
        json=instantly_payload(event_type, email, text, campaign_id),
        headers=headers,
        timeout=10,
    )
    return response.status_code, response.text
