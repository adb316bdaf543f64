"""Deterministic identifiers.

Every id that crosses a service boundary is derived from what caused it, so a retried handler produces the same
ids again and JetStream's duplicate window (keyed on `Nats-Msg-Id`) and the consumers' processed-event tables
drop the repeat.
"""

from __future__ import annotations

import hashlib
import uuid

# Fixed namespace: changing it would change every id the system has ever produced.
NAMESPACE = uuid.UUID("6f1c2a4e-9b0d-5c3e-8a7f-2d4b6e8c0a1f")


def stable_id(*parts: object) -> uuid.UUID:
    """A UUIDv5 over the parts, joined with a separator that cannot appear in them ambiguously."""
    return uuid.uuid5(NAMESPACE, "\x1f".join(str(p) for p in parts))


def lead_id_for(campaign_id: str, email: str) -> str:
    """The lead id: one lead per (campaign, normalised email)."""
    return str(stable_id("lead", campaign_id, email.strip().lower()))


def hash_email(email: str) -> str:
    """A short, stable pseudonym for an address: safe for logs and span attributes (promise 7)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:16]
