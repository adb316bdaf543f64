"""Transport: typed events in, use cases called."""

from __future__ import annotations

from coldstream_shared import subjects
from coldstream_shared.events import (
    CampaignAlert,
    CampaignApproved,
    CampaignPaused,
    CampaignResumed,
    CampaignStarted,
    EmailCancelled,
    EmailFailed,
    EmailGenerated,
    EmailSent,
    EmailSuppressed,
    LeadBounced,
    LeadUnsubscribed,
    ReplyClassified,
)
from coldstream_shared.messaging import document_publishes, durable
from coldstream_shared.service import Runtime
from sending.approve_sending import ApproveSending
from sending.outgoing import SERVICE
from sending.pause_campaign import PauseCampaign, RemoteCampaigns, ResumeCampaign
from sending.remember_campaign import RememberCampaign
from sending.send_sequence import SendSequence
from sending.stop_sequence import StopSequence
from sending.suppress_contact import SuppressContact
from sending.watch_bounces import WatchBounces


def register(
    runtime: Runtime, send_sequence: SendSequence, remote: RemoteCampaigns | None = None, *, concurrency: int = 1
) -> None:
    """Attach the sending subscribers to the broker."""
    remember_campaign = RememberCampaign(runtime.unit_of_work)
    suppress_contact = SuppressContact(runtime.unit_of_work)
    stop_sequence = StopSequence(runtime.unit_of_work)
    watch_bounces = WatchBounces(runtime.unit_of_work)
    approve_sending = ApproveSending(runtime.unit_of_work)
    pause, resume = PauseCampaign(runtime.unit_of_work, remote), ResumeCampaign(runtime.unit_of_work, remote)
    document_publishes(
        runtime.broker, EmailSent, EmailFailed, EmailSuppressed, EmailCancelled, CampaignAlert, CampaignPaused
    )

    @durable(runtime.broker, subjects.CAMPAIGN_STARTED, service=SERVICE, title="sending: campaign projection")
    async def on_campaign_started(event: CampaignStarted) -> None:
        await remember_campaign(event)

    @durable(runtime.broker, subjects.LEAD_UNSUBSCRIBED, service=SERVICE, title="sending: suppress unsubscribes")
    async def on_lead_unsubscribed(event: LeadUnsubscribed) -> None:
        await suppress_contact(event)

    @durable(runtime.broker, subjects.LEAD_BOUNCED, service=SERVICE, title="sending: suppress hard bounces, alert")
    async def on_lead_bounced(event: LeadBounced) -> None:
        await suppress_contact(event)
        await watch_bounces(event)

    @durable(runtime.broker, subjects.REPLY_CLASSIFIED, service=SERVICE, title="sending: stop sequences on replies")
    async def on_reply_classified(event: ReplyClassified) -> None:
        await stop_sequence(event)

    @durable(runtime.broker, subjects.CAMPAIGN_APPROVED, service=SERVICE, title="sending: release held sends")
    async def on_campaign_approved(event: CampaignApproved) -> None:
        await approve_sending(event)

    @durable(runtime.broker, subjects.CAMPAIGN_PAUSED, service=SERVICE, title="sending: pause a campaign")
    async def on_campaign_paused(event: CampaignPaused) -> None:
        await pause(event)

    @durable(runtime.broker, subjects.CAMPAIGN_RESUMED, service=SERVICE, title="sending: resume a campaign")
    async def on_campaign_resumed(event: CampaignResumed) -> None:
        await resume(event)

    # Many sequences at once (max_workers): their reservations and records are committed together (group commit).
    @durable(
        runtime.broker,
        subjects.EMAIL_GENERATED,
        service=SERVICE,
        title="sending: send sequences",
        batch_size=min(concurrency, 256),
        max_ack_pending=max(1000, concurrency * 4),
        max_workers=concurrency,
    )
    async def on_email_generated(event: EmailGenerated) -> None:
        await send_sequence(event)
