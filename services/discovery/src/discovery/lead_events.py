"""What each row outcome publishes, and the trace every lead's journey starts with."""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanContext

from coldstream_shared.events import Event, LeadData, LeadRejected, LeadScraped
from coldstream_shared.unit_of_work import UnitOfWork
from discovery.address_rules import lead_flags
from discovery.outcomes import Outcome
from discovery.scoring import Score

SERVICE = "discovery"
_tracer = trace.get_tracer("discovery")
_ROOT = otel_context.Context()


def scraped_event(
    cause: Event, key: object, lead_id: str, lead: LeadData, source_label: str, row_number: int, score: Score | None
) -> LeadScraped:
    """`lead.scraped` for an accepted lead, at import (auto mode) or at its release (manual approval)."""
    scored: dict[str, Any] = {}
    if score is not None:
        scored = {"score": score.score, "tier": score.tier, "score_breakdown": score.breakdown}
    return LeadScraped.caused_by(
        cause,
        producer=SERVICE,
        key=key,
        lead_id=lead_id,
        correlation_id=lead_id,
        row_number=row_number,
        lead=lead,
        source=source_label,
        flags=lead_flags(lead),
        **scored,
    )


def event_for(started: Event, outcome: Outcome, source_label: str) -> Event | None:
    """`lead.scraped` for a published row, nothing yet for a held one, `lead.rejected` for every other row.
    The id depends only on the row."""
    # The row's position is the key: a resumed or redelivered import derives the very same event ids.
    key = (outcome.source_index, outcome.row_number)
    if outcome.kind == "held":
        return None
    if outcome.kind == "published":
        assert outcome.lead is not None
        return scraped_event(
            started, key, outcome.lead_id, outcome.lead, source_label, outcome.row_number, outcome.score
        )
    return rejected_event(started, key, outcome)


def rejected_event(cause: Event, key: object, outcome: Outcome) -> LeadRejected:
    """`lead.rejected` (stage discovery) with the row's reason."""
    return LeadRejected.caused_by(
        cause,
        producer=SERVICE,
        key=key,
        lead_id=outcome.lead_id,
        correlation_id=outcome.lead_id,
        row_number=outcome.row_number,
        stage="discovery",
        reason_code=outcome.reason_code or outcome.kind,
        reason=outcome.reason or outcome.kind,
        email=outcome.email,
        duplicate_of=outcome.duplicate_of,
    )


def emit_in_lead_trace(
    uow: UnitOfWork, event: Event | None, outcome: Outcome, campaign_span: SpanContext
) -> dict[str, str]:
    """Emit a lead's first event inside a new root span linked to the campaign import: one trace per lead.

    A held lead emits nothing yet; its trace context is returned (empty for the others), so its release continues
    this trace. The span is started and ended by hand rather than with `start_as_current_span`: this runs once per
    imported row, and the context manager's extra layers cost more than the span itself."""
    links = [Link(campaign_span)] if campaign_span.is_valid else None
    attributes: dict[str, str | int] = {
        "coldstream.lead_id": outcome.lead_id,
        "coldstream.campaign_id": (event.campaign_id if event else None) or "",
        "coldstream.outcome": outcome.kind,
        "coldstream.row_number": outcome.row_number,
    }
    if outcome.reason_code:
        attributes["coldstream.reason_code"] = outcome.reason_code
    # An empty Context makes this a root span; emit() captures it as current, so the lead's trace continues
    # downstream.
    span = _tracer.start_span("discover lead", context=_ROOT, links=links, attributes=attributes)
    token = otel_context.attach(trace.set_span_in_context(span, _ROOT))
    carrier: dict[str, str] = {}
    try:
        if event is None:
            propagate.inject(carrier)
        else:
            uow.emit(event)
    finally:
        otel_context.detach(token)
        span.end()
    return carrier
