"""Transport: typed events in, use cases called."""

from __future__ import annotations

from coldstream_shared import subjects
from coldstream_shared.events import (
    EmailSent,
    LeadBounced,
    LeadProposed,
    LeadUnsubscribed,
    ReplyClassified,
    ReplyReceived,
)
from coldstream_shared.messaging import document_publishes, durable
from coldstream_shared.service import Runtime
from coldstream_shared.telemetry import tag_lead
from replies.actions import SERVICE
from replies.classify_with_model import ClassifyWithModel
from replies.record_sent import RecordSentEmail
from replies.track_stages import TrackLeadStage
from replies.wiring import Components


def register(runtime: Runtime, components: Components) -> None:
    """Attach the replies subscribers to the broker."""
    record_sent = RecordSentEmail(runtime.unit_of_work)
    track = TrackLeadStage(runtime.unit_of_work)
    document_publishes(runtime.broker, ReplyReceived, ReplyClassified, LeadUnsubscribed, LeadBounced, LeadProposed)

    @durable(runtime.broker, subjects.EMAIL_SENT, service=SERVICE, title="replies: remember sent emails")
    async def on_email_sent(event: EmailSent) -> None:
        tag_lead(event.lead_id, event.campaign_id)
        await record_sent(event)

    @durable(runtime.broker, subjects.LEAD_UNSUBSCRIBED, service=SERVICE, title="replies: pipeline stage")
    async def on_unsubscribed(event: LeadUnsubscribed) -> None:
        tag_lead(event.lead_id, event.campaign_id)
        await track(event)

    @durable(runtime.broker, subjects.LEAD_BOUNCED, service=SERVICE, title="replies: pipeline stage on bounce")
    async def on_bounced(event: LeadBounced) -> None:
        tag_lead(event.lead_id, event.campaign_id)
        await track(event)

    classify = ClassifyWithModel(runtime.unit_of_work, components.model, components.apply) if components.model else None

    # Always subscribed, so the published contract (AsyncAPI) does not depend on whether a key is set; without a
    # model every reply was classified when it was stored and this only acknowledges.
    # A model call may take seconds and retries: a longer ack wait than the default.
    @durable(
        runtime.broker,
        subjects.REPLY_RECEIVED,
        service=SERVICE,
        ack_wait=180.0,
        title="replies: Claude for ambiguous replies",
    )
    async def on_reply(event: ReplyReceived) -> None:
        if classify is not None:
            tag_lead(event.lead_id, event.campaign_id)
            await classify(event)
