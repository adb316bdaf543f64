"""Transport: typed events in, use cases called."""

from __future__ import annotations

from faststream.nats.annotations import NatsMessage
from sqlalchemy import select

from coldstream_shared import subjects
from coldstream_shared.events import CampaignAlert, CampaignStarted, LeadRejected, LeadScraped, LeadVerified
from coldstream_shared.messaging import document_publishes, durable
from coldstream_shared.service import Runtime
from enrichment.campaigns import CampaignPolicies, RememberCampaign
from enrichment.enrich_lead import SERVICE, EnrichLead
from enrichment.enrichers import Enrichers, build_enrichers
from enrichment.settings import EnrichmentSettings


def register(runtime: Runtime, settings: EnrichmentSettings, enrichers: Enrichers | None = None) -> EnrichLead:
    """Attach the enrichment subscribers to the broker."""
    policies = CampaignPolicies(runtime.sessions)
    remember_campaign = RememberCampaign(runtime.unit_of_work, policies)
    processed = runtime.processed

    async def applied(event: LeadScraped) -> bool:
        async with runtime.sessions() as session:
            found = await session.scalar(select(processed.c.event_id).where(processed.c.event_id == event.event_id))
        return found is not None

    enrich_lead = EnrichLead(
        runtime.unit_of_work, policies, enrichers or build_enrichers(settings, runtime.sessions), applied
    )
    document_publishes(runtime.broker, LeadVerified, LeadRejected, CampaignAlert)

    @durable(runtime.broker, subjects.CAMPAIGN_STARTED, service=SERVICE, title="enrichment: keep campaign policies")
    async def on_campaign_started(event: CampaignStarted) -> None:
        await remember_campaign(event)

    # Providers are I/O bound: leads of one pull are processed concurrently (max_workers), not one by one.
    @durable(
        runtime.broker,
        subjects.LEAD_SCRAPED,
        service=SERVICE,
        title="enrichment: verify and enrich scraped leads",
        batch_size=settings.enrichment_concurrency,
        max_ack_pending=max(1000, settings.enrichment_concurrency * 4),
        max_workers=settings.enrichment_concurrency,
    )
    async def on_lead_scraped(event: LeadScraped) -> None:
        # The message is read from the broker's context, not taken as a `NatsMessage` parameter: fast_depends
        # resolves such a parameter with a synchronous call in a worker thread, a thread hop for every lead.
        msg: NatsMessage | None = runtime.broker.context.get_local("message")
        metadata = getattr(getattr(msg, "raw_message", None), "metadata", None)
        await enrich_lead(event, first_delivery=getattr(metadata, "num_delivered", None) == 1)

    return enrich_lead
