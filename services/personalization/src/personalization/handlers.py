"""Transport: typed events in, use cases called."""

from __future__ import annotations

from faststream.nats.annotations import NatsMessage

from coldstream_shared import subjects
from coldstream_shared.events import (
    CampaignAlert,
    CampaignApproved,
    CampaignStarted,
    EmailGenerated,
    EmailHeld,
    LeadVerified,
)
from coldstream_shared.messaging import document_publishes, durable
from coldstream_shared.service import Runtime
from personalization.keepalive import heartbeats
from personalization.record_campaign import SERVICE, RecordCampaign
from personalization.release_sequences import ReleaseSequences
from personalization.settings import PersonalizationSettings
from personalization.write_sequence import WriteSequence
from personalization.writer import SequenceWriter


def register(runtime: Runtime, writer: SequenceWriter, settings: PersonalizationSettings) -> None:
    """Attach the personalization subscribers to the broker."""
    record_campaign = RecordCampaign(runtime.unit_of_work)
    write_sequence = WriteSequence(runtime.unit_of_work, writer, runtime.sessions)
    release_sequences = ReleaseSequences(runtime.unit_of_work)
    document_publishes(runtime.broker, EmailGenerated, EmailHeld, CampaignAlert)

    @durable(
        runtime.broker,
        subjects.CAMPAIGN_STARTED,
        service=SERVICE,
        title="personalization: keep the campaign projection",
    )
    async def on_campaign_started(event: CampaignStarted) -> None:
        await record_campaign(event)

    # max_workers: leads are written concurrently (a model call takes seconds); the model gate inside the
    # writer keeps the calls under the rate limits. max_ack_pending = the concurrency: JetStream hands out no
    # more leads than there are workers, so no delivered lead waits without heartbeats (a lead queued inside
    # the process behind a rate limit would otherwise outlive its ack wait and be redelivered).
    @durable(
        runtime.broker,
        subjects.LEAD_VERIFIED,
        service=SERVICE,
        ack_wait=settings.lead_ack_wait,
        batch_size=1,
        max_ack_pending=settings.llm_concurrency,
        max_workers=settings.llm_concurrency,
        title="personalization: write verified leads' sequences",
    )
    async def on_lead_verified(event: LeadVerified, msg: NatsMessage) -> None:
        async with heartbeats(msg.in_progress, every=settings.lead_ack_wait / 3):
            await write_sequence(event)

    @durable(
        runtime.broker,
        subjects.CAMPAIGN_APPROVED,
        service=SERVICE,
        title="personalization: release sequences when sending is approved",
    )
    async def on_campaign_approved(event: CampaignApproved) -> None:
        await release_sequences(event)
