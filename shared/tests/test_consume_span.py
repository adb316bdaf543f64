"""The one middleware layer of ours on a real nats-server: a delivery makes one consume span, in the trace its
headers carry, tagged with the event's lead and campaign; an event published gets its id as `Nats-Msg-Id`."""

from __future__ import annotations

import asyncio
import json
import uuid

import nats
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from coldstream_shared.events.campaigns import CampaignArchived
from coldstream_shared.messaging import declare_streams, durable, make_broker
from coldstream_shared.streams import stream_for


async def test_a_delivery_continues_its_trace_in_one_span_tagged_with_its_lead(nats_url: str) -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    service, subject = f"spantest{uuid.uuid4().hex[:6]}", f"lead.spantest{uuid.uuid4().hex[:6]}"
    broker = make_broker(nats_url, service=service, tracer_provider=provider)
    handled = asyncio.Event()

    @durable(broker, subject, service=service)
    async def handle(body: dict[str, object]) -> None:
        handled.set()

    trace_id, lead_id, campaign_id = uuid.uuid4().hex, uuid.uuid4().hex, f"campaign-{uuid.uuid4().hex[:6]}"
    await declare_streams(broker)
    await broker.start()
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(
            subject,
            json.dumps({"event_id": str(uuid.uuid4()), "lead_id": lead_id, "campaign_id": campaign_id}).encode(),
            headers={"traceparent": f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"},
        )
        await asyncio.wait_for(handled.wait(), timeout=10)
        await asyncio.sleep(0.2)  # the span ends after the handler returns
    finally:
        await nc.close()
        await broker.stop()

    consumed = [span for span in spans.get_finished_spans() if span.kind is SpanKind.CONSUMER]
    assert len(consumed) == 1, [span.name for span in consumed]
    span = consumed[0]
    assert span.context is not None
    assert f"{span.context.trace_id:032x}" == trace_id
    assert span.attributes is not None
    assert span.attributes["coldstream.lead_id"] == lead_id
    assert span.attributes["coldstream.campaign_id"] == campaign_id


async def test_publishing_an_event_stores_it_under_its_event_id(nats_url: str) -> None:
    """JetStream deduplicates by `Nats-Msg-Id`: every publish of an event carries its id, asked for or not."""
    broker = make_broker(nats_url, service=f"msgid{uuid.uuid4().hex[:6]}")
    campaign_id = f"c-{uuid.uuid4().hex[:6]}"
    event = CampaignArchived(
        event_id=uuid.uuid4(), campaign_id=campaign_id, archived_by="test", producer="test", correlation_id=campaign_id
    )
    await declare_streams(broker)
    try:
        await broker.publish(event, subject=event.subject, stream=stream_for(event.subject).name)
        stored = await broker.connection.jetstream().get_last_msg(stream_for(event.subject).name, event.subject)
    finally:
        await broker.stop()
    assert stored.headers is not None
    assert stored.headers["Nats-Msg-Id"] == str(event.event_id)
