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
    write_sequence = WriteSequence(runtime.unit_of_work, writer, runtime.engine)
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
    # the process behind a rate limit would otherwise outlive its ack wait and be redelivered). One pull asks
    # for as many leads as there are workers: pulling one per round trip capped the whole service at one lead
    # per NATS round trip (~14 leads/s on a loaded machine, with most workers idle).
    concurrency = settings.llm_concurrency if writer.writer == "llm" else settings.template_concurrency

    @durable(
        runtime.broker,
        subjects.LEAD_VERIFIED,
        service=SERVICE,
        ack_wait=settings.lead_ack_wait,
        batch_size=concurrency,
        max_ack_pending=concurrency,
        max_workers=concurrency,
        title="personalization: write verified leads' sequences",
    )
    async def on_lead_verified(event: LeadVerified) -> None:
        # The message comes from the broker's context rather than a `NatsMessage` parameter: FastDepends resolves
        # such a parameter with a sync function in a worker thread, a thread hop per lead (~5% of its CPU).
        msg: NatsMessage = runtime.broker.context.get_local("message")
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
