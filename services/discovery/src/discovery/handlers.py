"""Transport: typed events in, use cases called."""

from __future__ import annotations

from faststream.nats.annotations import NatsMessage

from coldstream_shared import subjects
from coldstream_shared.events import (
    CampaignApproved,
    CampaignStarted,
    EmailSent,
    LeadBounced,
    LeadProposed,
    LeadUnsubscribed,
)
from coldstream_shared.messaging import durable, is_last_delivery
from coldstream_shared.service import Runtime
from coldstream_shared.telemetry import tag_lead
from discovery.approve_leads import ApproveLeads
from discovery.emailed_contacts import RememberEmailedContacts
from discovery.import_campaign import SERVICE, ImportCampaign
from discovery.known_contacts import RecordContact
from discovery.preparation import RowPreparer
from discovery.propose_lead import ProposeLead
from discovery.providers import build_providers
from discovery.settings import DiscoverySettings

# Between batches the import sends in-progress heartbeats, so this only has to cover one batch.
IMPORT_ACK_WAIT = 120.0


def register(runtime: Runtime, settings: DiscoverySettings, preparer: RowPreparer | None = None) -> None:
    """Attach the discovery subscribers to the broker."""
    import_campaign = ImportCampaign(
        runtime.unit_of_work,
        batch_size=settings.import_batch_size,
        providers=build_providers(settings),
        preparer=preparer,
    )
    record_contact = RecordContact(runtime.unit_of_work)
    remember_emailed = RememberEmailedContacts(runtime.unit_of_work)
    approve_leads = ApproveLeads(runtime.unit_of_work)
    propose_lead = ProposeLead(runtime.unit_of_work)

    # batch_size=1: a fetched start waits for no other import, so its ack timer never runs out while queued.
    @durable(
        runtime.broker,
        subjects.CAMPAIGN_STARTED,
        service=SERVICE,
        ack_wait=IMPORT_ACK_WAIT,
        batch_size=1,
        title="discovery: import a started campaign's leads",
    )
    async def on_campaign_started(event: CampaignStarted, msg: NatsMessage) -> None:
        tag_lead(None, event.campaign_id)
        # On the delivery after which DeadLetters parks the start, even a failure of the moment fails the campaign
        # visibly (status, alert) instead of leaving it "importing".
        last = is_last_delivery(runtime.broker, msg)
        await import_campaign(event, heartbeat=msg.in_progress, last_delivery=last)

    @durable(
        runtime.broker, subjects.LEAD_UNSUBSCRIBED, service=SERVICE, title="discovery: remember unsubscribed contacts"
    )
    async def on_lead_unsubscribed(event: LeadUnsubscribed) -> None:
        tag_lead(event.lead_id, event.campaign_id)
        await record_contact(event)

    @durable(runtime.broker, subjects.LEAD_BOUNCED, service=SERVICE, title="discovery: remember bounced contacts")
    async def on_lead_bounced(event: LeadBounced) -> None:
        tag_lead(event.lead_id, event.campaign_id)
        await record_contact(event)

    @durable(runtime.broker, subjects.EMAIL_SENT, service=SERVICE, title="discovery: remember emailed contacts")
    async def on_email_sent(event: EmailSent) -> None:
        tag_lead(event.lead_id, event.campaign_id)
        await remember_emailed(event)

    @durable(
        runtime.broker,
        subjects.CAMPAIGN_APPROVED,
        service=SERVICE,
        ack_wait=IMPORT_ACK_WAIT,
        batch_size=1,
        title="discovery: release a campaign's held leads",
    )
    async def on_campaign_approved(event: CampaignApproved) -> None:
        tag_lead(None, event.campaign_id)
        await approve_leads(event)

    @durable(runtime.broker, subjects.LEAD_PROPOSED, service=SERVICE, title="discovery: import a referred contact")
    async def on_lead_proposed(event: LeadProposed) -> None:
        tag_lead(None, event.campaign_id)
        await propose_lead(event)
