"""One lead's whole history across the five services, in time order, from the events (seed 004's activity log).

A person can be a lead in several campaigns: the history follows the address through every lead id it had.
The trace id comes from the W3C `traceparent` header the services propagate on every event, so the operator can
open the journey in Jaeger.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from coldstream.stream_scan import read_to_end

# What each event says in a person's words; the key fields shown beside it.
DESCRIPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "lead.scraped": ("accepted by discovery", ("source", "tier", "score")),
    "lead.rejected": ("rejected", ("stage", "reason_code", "reason")),
    "lead.verified": ("verified", ("verdict", "verified_by")),
    "lead.unsubscribed": ("unsubscribed", ("source", "reason")),
    "lead.bounced": ("bounced", ("bounce_type", "reason")),
    "lead.proposed": ("proposed as a new contact", ("reason", "referred_by")),
    "email.generated": ("sequence written", ("writer", "model", "prompt_version", "variant", "quality_score")),
    "email.held": ("held for review", ("reason_code", "reasons")),
    "email.sent": ("sent", ("step", "backend", "subject_line")),
    "email.failed": ("send failed", ("step", "backend", "reason")),
    "email.suppressed": ("not sent: suppressed", ("step", "scope", "reason")),
    "email.cancelled": ("remaining touches cancelled", ("steps", "reason")),
    "reply.received": ("replied", ("reply_subject", "source")),
    "reply.classified": ("reply classified", ("category", "confidence", "classifier")),
}


@dataclass(frozen=True)
class Entry:
    at: str
    subject: str
    campaign_id: str | None
    lead_id: str | None
    what: str
    details: dict[str, Any]


@dataclass
class LeadHistory:
    email: str
    entries: list[Entry] = field(default_factory=list)
    lead_ids: set[str] = field(default_factory=set)
    trace_ids: dict[str, str] = field(default_factory=dict)  # lead id -> trace id
    _pending: list[tuple[str, dict[str, Any], dict[str, str]]] = field(default_factory=list)

    def visit(self, subject: str, payload: dict[str, Any], headers: dict[str, str]) -> None:
        if subject.startswith("dlq."):
            self._visit_dead_letter(payload)
            return
        if _email_of(payload) == self.email and payload.get("lead_id"):
            self.lead_ids.add(payload["lead_id"])
        self._pending.append((subject, payload, headers))

    def _visit_dead_letter(self, record: dict[str, Any]) -> None:
        try:
            original = json.loads(record.get("original_body") or "{}")
        except ValueError:
            return
        if isinstance(original, dict):
            failed = {"service": record.get("service"), "error": record.get("error_type")}
            payload = original | {"occurred_at": record.get("failed_at"), "_dead_letter": failed}
            self._pending.append((f"dead letter ({record.get('original_subject')})", payload, {}))

    def finish(self) -> LeadHistory:
        """Keep what belongs to this person (their address, or one of their lead ids), sorted by time."""
        for subject, payload, headers in self._pending:
            lead_id = payload.get("lead_id")
            if _email_of(payload) != self.email and lead_id not in self.lead_ids:
                continue
            what, keys = DESCRIPTIONS.get(subject, (subject, ()))
            details = {k: payload[k] for k in keys if payload.get(k) not in (None, "", [])}
            if "_dead_letter" in payload:
                what, details = "dead-lettered", payload["_dead_letter"]
            self.entries.append(
                Entry(str(payload.get("occurred_at", "")), subject, payload.get("campaign_id"), lead_id, what, details)
            )
            trace_id = _trace_id(headers)
            if lead_id and trace_id and lead_id not in self.trace_ids:
                self.trace_ids[lead_id] = trace_id
        self.entries.sort(key=lambda e: e.at)
        self._pending.clear()
        return self

    def as_dict(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "lead_ids": sorted(self.lead_ids),
            "trace_ids": self.trace_ids,
            "history": [e.__dict__ for e in self.entries],
        }


def _email_of(payload: dict[str, Any]) -> str | None:
    # Events from other producers may use these names differently (e.g. "lead" as an id): never trust the shape.
    lead = payload.get("lead")
    email = payload.get("email") or (lead.get("email") if isinstance(lead, dict) else None)
    return email.strip().lower() if isinstance(email, str) else None


def _trace_id(headers: dict[str, str]) -> str | None:
    """The trace id of a W3C traceparent: `00-<trace id>-<span id>-<flags>`."""
    parts = headers.get("traceparent", "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


async def lead_history(nats_url: str, email: str) -> LeadHistory:
    """Everything the event streams know about `email`."""
    history = LeadHistory(email.strip().lower())
    await read_to_end(nats_url, history.visit)
    return history.finish()
