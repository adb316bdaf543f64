"""Pure rules for Instantly webhooks: authentication, parsing, the derived dedup key."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# The payload docs and the registration enum disagree on some names (see the team's Instantly reference).
REPLY_TYPES = frozenset({"reply_received", "auto_reply_received"})
UNSUBSCRIBE_TYPES = frozenset({"lead_unsubscribed"})
BOUNCE_TYPES = frozenset({"email_bounced"})
NEEDS_LEAD_EMAIL = REPLY_TYPES | UNSUBSCRIBE_TYPES | BOUNCE_TYPES
# A person (or Instantly's AI) set the lead's interest status in Instantly.
INTEREST_TYPES = frozenset(
    {
        "lead_neutral",
        "lead_interested",
        "lead_not_interested",
        "lead_meeting_booked",
        "lead_meeting_completed",
        "lead_closed",
        "lead_out_of_office",
        "lead_wrong_person",
        "lead_no_show",
    }
)
# Stored for the record (and campaign metrics later); nothing else to do with them today.
RECORD_ONLY_TYPES = frozenset(
    {"email_sent", "email_opened", "email_link_clicked", "link_clicked", "campaign_completed", "account_error"}
)
DOCUMENTED_TYPES = NEEDS_LEAD_EMAIL | INTEREST_TYPES | RECORD_ONLY_TYPES
# Custom variables sending may attach to each Instantly lead; Instantly merges them into every payload.
LEAD_ID_FIELD, CAMPAIGN_ID_FIELD = "coldstream_lead_id", "coldstream_campaign_id"
# Instantly payloads are flat; deeper nesting is garbage (and Python's json recursion is bounded).
MAX_DEPTH = 32
SANE_YEARS = (2000, 2200)
DEDUP_FIELDS = ("event_type", "workspace", "campaign_id", "lead_email", "email_id", "timestamp")


class BadWebhookError(ValueError):
    """The body cannot be accepted; the message says why (it is returned to the caller)."""


@dataclass(frozen=True)
class Webhook:
    """The fields we act on; `payload` keeps everything, including merged lead fields."""

    dedup_key: str
    event_type: str
    payload: dict[str, Any]
    lead_email: str | None
    campaign_id: str | None
    email_id: str | None
    timestamp: datetime | None
    step: int | None
    reply_text: str | None
    reply_subject: str | None
    lead_id_hint: str | None = None
    campaign_id_hint: str | None = None


def authorized(expected: str | None, presented: str | None) -> bool:
    """Constant-time check of the shared secret; no secret configured means open (warned at startup)."""
    if expected is None:
        return True
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def dedup_key(payload: dict[str, Any]) -> str:
    """sha256 over the fields that identify one delivery (Instantly sends no event id)."""
    parts = ("" if payload.get(name) is None else str(payload[name]) for name in DEDUP_FIELDS)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def parse(body: bytes) -> Webhook:
    """Decode and check a webhook body; raise BadWebhookError with a reason a person can act on."""
    try:
        # What json.loads does with bytes, with one decoder built once (json.loads builds one per call when given
        # hooks: a tenth of the webhook's parsing time).
        payload = _DECODER.decode(body.decode(json.detect_encoding(body), "surrogatepass"))
    except RecursionError:
        raise BadWebhookError(f"body is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:  # also JSONDecodeError, UnicodeDecodeError and over-long integers
        raise BadWebhookError(f"body is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise BadWebhookError("body must be a JSON object")
    _check_storable(payload)
    return from_payload(payload)


def from_payload(payload: dict[str, Any]) -> Webhook:
    """The webhook in a decoded body (or in a stored one, when a left-over is applied later)."""
    event_type = payload.get("event_type")
    if not isinstance(event_type, str) or not event_type.strip():
        raise BadWebhookError("missing or empty 'event_type'")
    if len(event_type) > 100:
        raise BadWebhookError("'event_type' is longer than 100 characters")
    # Instantly merges the lead's own fields at the top level, so a payload without `lead_email` may carry `email`.
    lead_email = _text(payload, "lead_email") or _text(payload, "email")
    if event_type in NEEDS_LEAD_EMAIL and (lead_email is None or "@" not in lead_email):
        raise BadWebhookError(f"'{event_type}' needs a 'lead_email' string")
    return Webhook(
        dedup_key=dedup_key(payload),
        event_type=event_type,
        payload=payload,
        lead_email=lead_email.strip().lower() if lead_email else None,
        campaign_id=_text(payload, "campaign_id"),
        email_id=_text(payload, "email_id"),
        timestamp=_timestamp(payload.get("timestamp")),
        step=_step(payload.get("step")),
        reply_text=_text(payload, "reply_text") or _text(payload, "reply_text_snippet"),
        reply_subject=_text(payload, "reply_subject"),
        lead_id_hint=_short(payload, LEAD_ID_FIELD),
        campaign_id_hint=_short(payload, CAMPAIGN_ID_FIELD),
    )


def _refuse_constant(name: str) -> float:
    # Python's json accepts NaN and Infinity; JSON and Postgres JSONB do not.
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # "1e999" parses to inf, which JSONB refuses
        raise ValueError(f"number {literal[:20]} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def _check_storable(payload: dict[str, Any]) -> None:
    """Refuse what Postgres JSONB cannot store (NUL, lone surrogates) and absurd nesting, with a reason."""
    pending: list[tuple[dict[str, Any] | list[Any], int]] = [(payload, 1)]
    while pending:
        container, depth = pending.pop()
        if isinstance(container, dict):
            for key in container:
                _check_text(key)
            items: Any = container.values()
        else:
            items = container
        for item in items:
            if depth >= MAX_DEPTH:  # the item would sit one level deeper than allowed
                raise BadWebhookError(f"body is nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, str):
                _check_text(item)
            elif isinstance(item, dict | list):
                pending.append((item, depth + 1))


def _check_text(value: str) -> None:
    if "\x00" in value:
        raise BadWebhookError("body contains NUL characters")
    if value.isascii():  # no surrogates possible; skips an encoding copy of nearly every string
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadWebhookError("body contains unpaired UTF-16 surrogates") from None


def _text(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) and value.strip() else None


def _short(payload: dict[str, Any], key: str) -> str | None:
    """An id-sized string (our ids fit 64 characters), else None."""
    value = _text(payload, key)
    return value.strip() if value and len(value.strip()) <= 64 else None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        parsed = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    # A reply dated in year 1 or 9999 is a broken sender clock: the time we received it is the better guess.
    return parsed if SANE_YEARS[0] <= parsed.year <= SANE_YEARS[1] else None


def _step(value: Any) -> int | None:
    # bool is an int subclass; a "step": true is not a step number.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
