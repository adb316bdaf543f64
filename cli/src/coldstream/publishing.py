"""Publishing from the operator's side (CLI): connect, declare streams, publish with the event id as Nats-Msg-Id."""

from __future__ import annotations

import hashlib

import nats

from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.events import CampaignStarted, Event
from coldstream_shared.streams import ensure_streams, stream_for


async def publish(nats_url: str, event: Event) -> bool:
    """Publish one event; returns False when JetStream recognised it as a duplicate."""
    nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=3)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        ack = await js.publish(
            event.subject,
            event.model_dump_json().encode(),
            stream=stream_for(event.subject).name,
            headers={"Nats-Msg-Id": str(event.event_id), "content-type": "application/json"},
        )
        return not ack.duplicate
    finally:
        await nc.close()


def campaign_started(spec: CampaignSpec, team_id: str = "default", started_by: str | None = None) -> CampaignStarted:
    """The event for starting `spec`: starting the same definition twice is the same event."""
    digest = hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:16]
    return CampaignStarted.originate(
        producer="cli",
        key=(spec.id, digest),
        campaign_id=spec.id,
        campaign=spec,
        team_id=team_id,
        started_by=started_by,
        correlation_id=spec.id,
    )
