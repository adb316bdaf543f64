"""`coldstream leads show`: one address's history across services and campaigns, in time order, with trace ids."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import nats
from typer.testing import CliRunner

from coldstream.cli import app
from coldstream.lead_history import lead_history
from coldstream_shared.events import EmailCancelled, EmailSent, Event, LeadData, LeadScraped, ReplyClassified
from coldstream_shared.ids import lead_id_for
from coldstream_shared.streams import ensure_streams, stream_for

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


async def _publish(nats_url: str, *events: tuple[Event, dict[str, str]]) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        for event, headers in events:
            await js.publish(
                event.subject,
                event.model_dump_json().encode(),
                stream=stream_for(event.subject).name,
                headers={"Nats-Msg-Id": str(event.event_id), **headers},
            )
    finally:
        await nc.close()


async def test_history_follows_the_address_through_campaigns_in_time_order(nats_url: str) -> None:
    email = f"jane.{uuid.uuid4().hex[:8]}@acme.io"
    t0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
    first, second = (f"hist-{uuid.uuid4().hex[:6]}-{n}" for n in (1, 2))
    lead1, lead2 = lead_id_for(first, email), lead_id_for(second, email)

    def scraped(campaign: str, lead_id: str, at: datetime, mail: str = email) -> LeadScraped:
        return LeadScraped.originate(
            producer="discovery",
            key=(campaign, mail),
            occurred_at=at,
            lead_id=lead_id,
            campaign_id=campaign,
            lead=LeadData(email=mail.upper()),
            source="csv:test.csv",
            tier="A",
        )

    sent = EmailSent.originate(
        producer="sending",
        key=(lead1, 1),
        occurred_at=t0 + timedelta(days=1),
        lead_id=lead1,
        campaign_id=first,
        email=email,
        step=1,
        backend="file",
        message_id="<m1@x>",
    )
    classified = ReplyClassified.originate(
        producer="replies",
        key=(lead1, "r"),
        occurred_at=t0 + timedelta(days=2),
        lead_id=lead1,
        campaign_id=first,
        email=email,
        category="not_now",
        confidence=0.9,
        reasoning="asks to come back in spring",
        classifier="rules/v1",
    )
    cancelled = EmailCancelled.originate(
        producer="sending",
        key=(lead1, "c"),
        occurred_at=t0 + timedelta(days=2, minutes=1),
        lead_id=lead1,
        campaign_id=first,
        steps=[2, 3],
        reason="reply:not_now",
    )
    other = scraped(first, lead_id_for(first, "someone@else.io"), t0, mail="someone@else.io")
    traceparent = {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}
    await _publish(
        nats_url,
        (cancelled, {}),
        (classified, {}),
        (scraped(second, lead2, t0 + timedelta(days=30)), {}),
        (sent, {}),
        (scraped(first, lead1, t0), traceparent),
        (other, {}),
    )

    history = await lead_history(nats_url, email.upper())

    assert [e.what for e in history.entries] == [
        "accepted by discovery",
        "sent",
        "reply classified",
        "remaining touches cancelled",
        "accepted by discovery",
    ]
    assert [e.campaign_id for e in history.entries] == [first, first, first, first, second]
    assert history.lead_ids == {lead1, lead2}
    assert history.trace_ids == {lead1: TRACE}
    assert history.entries[3].details == {"steps": [2, 3], "reason": "reply:not_now"}

    result = await asyncio.to_thread(
        CliRunner().invoke, app, ["leads", "show", email, "--json", "--nats-url", nats_url]
    )
    assert result.exit_code == 0, result.output
    # stdout only: stderr may carry a stray log line from an app another test left behind
    assert len(json.loads(result.stdout)["history"]) == 5
    missing = await asyncio.to_thread(
        CliRunner().invoke, app, ["leads", "show", "nobody@nowhere.io", "--nats-url", nats_url]
    )
    assert missing.exit_code == 1
