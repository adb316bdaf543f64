"""Transport: typed events in, use cases called."""

from __future__ import annotations

from coldstream_shared import subjects
from coldstream_shared.events import EmailSent
from coldstream_shared.messaging import durable
from coldstream_shared.service import Runtime
from coldstream_shared.telemetry import tag_lead
from replies.ingest_webhook import SERVICE
from replies.record_sent import RecordSentEmail


def register(runtime: Runtime) -> None:
    """Attach the replies subscribers to the broker."""
    record_sent = RecordSentEmail(runtime.unit_of_work)

    @durable(runtime.broker, subjects.EMAIL_SENT, service=SERVICE, title="replies: remember sent emails")
    async def on_email_sent(event: EmailSent) -> None:
        tag_lead(event.lead_id, event.campaign_id)
        await record_sent(event)
