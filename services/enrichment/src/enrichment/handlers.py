"""Transport: typed events in, use cases called."""

from __future__ import annotations

from coldstream_shared import subjects
from coldstream_shared.events import LeadRejected, LeadScraped, LeadVerified
from coldstream_shared.messaging import document_publishes, durable
from coldstream_shared.service import Runtime
from coldstream_shared.telemetry import tag_lead
from enrichment.settings import EnrichmentSettings
from enrichment.verifier import build_verifier
from enrichment.verify_lead import SERVICE, VerifyLead


def register(runtime: Runtime, settings: EnrichmentSettings) -> None:
    """Attach the enrichment subscribers to the broker."""
    verify_lead = VerifyLead(runtime.unit_of_work, build_verifier(settings))
    document_publishes(runtime.broker, LeadVerified, LeadRejected)

    @durable(runtime.broker, subjects.LEAD_SCRAPED, service=SERVICE, title="enrichment: verify scraped leads")
    async def on_lead_scraped(event: LeadScraped) -> None:
        tag_lead(event.lead_id, event.campaign_id)
        await verify_lead(event)
