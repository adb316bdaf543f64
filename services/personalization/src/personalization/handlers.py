"""Transport: typed events in, use cases called."""

from __future__ import annotations

from coldstream_shared import subjects
from coldstream_shared.events import (
    CampaignAlert,
    CampaignStarted,
    EmailGenerated,
    LeadRejected,
    LeadVerified,
)
from coldstream_shared.messaging import document_publishes, durable
from coldstream_shared.service import Runtime
from coldstream_shared.telemetry import tag_lead
from personalization.record_campaign import SERVICE, RecordCampaign
from personalization.write_sequence import WriteSequence
from personalization.writer import SequenceWriter


def register(runtime: Runtime, writer: SequenceWriter) -> None:
    """Attach the personalization subscribers to the broker."""
    record_campaign = RecordCampaign(runtime.unit_of_work)
    write_sequence = WriteSequence(runtime.unit_of_work, writer)
    document_publishes(runtime.broker, EmailGenerated, LeadRejected, CampaignAlert)

    @durable(
        runtime.broker,
        subjects.CAMPAIGN_STARTED,
        service=SERVICE,
        title="personalization: keep the campaign projection",
    )
    async def on_campaign_started(event: CampaignStarted) -> None:
        tag_lead(None, event.campaign_id)
        await record_campaign(event)

    @durable(
        runtime.broker,
        subjects.LEAD_VERIFIED,
        service=SERVICE,
        title="personalization: write verified leads' sequences",
    )
    async def on_lead_verified(event: LeadVerified) -> None:
        tag_lead(event.lead_id, event.campaign_id)
        await write_sequence(event)
