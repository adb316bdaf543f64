"""What each row outcome publishes, and the trace every lead's journey starts with."""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanContext

from coldstream_shared.events import CampaignStarted, Event, LeadRejected, LeadScraped
from coldstream_shared.unit_of_work import UnitOfWork
from discovery.outcomes import Outcome

SERVICE = "discovery"
_tracer = trace.get_tracer("discovery")


def event_for(started: CampaignStarted, outcome: Outcome, source_label: str) -> Event:
    """`lead.scraped` for a published row, `lead.rejected` for every other; the id depends only on the row."""
    # The row's position is the key: a resumed or redelivered import derives the very same event ids.
    key = (outcome.source_index, outcome.row_number)
    common: dict[str, Any] = {
        "lead_id": outcome.lead_id,
        "correlation_id": outcome.lead_id,
        "row_number": outcome.row_number,
    }
    if outcome.kind == "published":
        assert outcome.lead is not None
        scored: dict[str, Any] = {}
        if outcome.score is not None:
            scored = {
                "score": outcome.score.score,
                "tier": outcome.score.tier,
                "score_breakdown": outcome.score.breakdown,
            }
        return LeadScraped.caused_by(
            started, producer=SERVICE, key=key, **common, lead=outcome.lead, source=source_label, **scored
        )
    return LeadRejected.caused_by(
        started,
        producer=SERVICE,
        key=key,
        **common,
        stage="discovery",
        reason_code=outcome.reason_code or outcome.kind,
        reason=outcome.reason or outcome.kind,
        email=outcome.email,
        duplicate_of=outcome.duplicate_of,
    )


def emit_in_lead_trace(uow: UnitOfWork, event: Event, outcome: Outcome, campaign_span: SpanContext) -> None:
    """Emit a lead's first event inside a new root span linked to the campaign import: one trace per lead."""
    links = [Link(campaign_span)] if campaign_span.is_valid else []
    attributes: dict[str, str | int] = {
        "coldstream.lead_id": outcome.lead_id,
        "coldstream.campaign_id": event.campaign_id or "",
        "coldstream.outcome": outcome.kind,
        "coldstream.row_number": outcome.row_number,
    }
    if outcome.reason_code:
        attributes["coldstream.reason_code"] = outcome.reason_code
    # An empty Context makes this a root span; emit() captures it, so the lead's trace continues downstream.
    with _tracer.start_as_current_span(
        "discover lead", context=otel_context.Context(), links=links, attributes=attributes
    ):
        uow.emit(event)
