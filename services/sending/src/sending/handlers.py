"""Transport: typed events in, use cases called."""

from __future__ import annotations

from coldstream_shared import subjects
from coldstream_shared.events import CampaignStarted, EmailGenerated, LeadBounced, LeadUnsubscribed
from coldstream_shared.messaging import durable
from coldstream_shared.service import Runtime
from coldstream_shared.telemetry import tag_lead
from sending.dispatch import SERVICE
from sending.remember_campaign import RememberCampaign
from sending.send_sequence import SendSequence
from sending.suppress_contact import SuppressContact


def register(runtime: Runtime, send_sequence: SendSequence) -> None:
    """Attach the sending subscribers to the broker."""
    remember_campaign = RememberCampaign(runtime.unit_of_work)
    suppress_contact = SuppressContact(runtime.unit_of_work)

    @durable(runtime.broker, subjects.CAMPAIGN_STARTED, service=SERVICE, title="sending: campaign projection")
    async def on_campaign_started(event: CampaignStarted) -> None:
        tag_lead(None, event.campaign_id)
        await remember_campaign(event)

    @durable(runtime.broker, subjects.LEAD_UNSUBSCRIBED, service=SERVICE, title="sending: suppress unsubscribes")
    async def on_lead_unsubscribed(event: LeadUnsubscribed) -> None:
        tag_lead(event.lead_id, event.campaign_id)
        await suppress_contact(event)

    @durable(runtime.broker, subjects.LEAD_BOUNCED, service=SERVICE, title="sending: suppress hard bounces")
    async def on_lead_bounced(event: LeadBounced) -> None:
        tag_lead(event.lead_id, event.campaign_id)
        await suppress_contact(event)

    @durable(runtime.broker, subjects.EMAIL_GENERATED, service=SERVICE, title="sending: send sequences")
    async def on_email_generated(event: EmailGenerated) -> None:
        tag_lead(event.lead_id, event.campaign_id)
        await send_sequence(event)
