"""Shared helpers for discovery's integration tests (real nats-server and Postgres)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
from nats.js.client import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.events import CampaignStarted, Event
from coldstream_shared.streams import stream_for
from discovery.testing import direct_runtime as direct_runtime  # re-exported: tests import every helper from here


def campaign_started(campaign_id: str, lead_file: Path, **sections: Any) -> CampaignStarted:
    """A start for one CSV/JSONL file; `sections` add or replace campaign sections (icp, approvals, ...)."""
    sending = {"from_name": "Sam", "from_email": "sam@sender.example"} | sections.pop("sending", {})
    spec = CampaignSpec.model_validate(
        {
            "id": campaign_id,
            "name": "Integration",
            "sources": [{"type": "jsonl" if lead_file.suffix == ".jsonl" else "csv", "path": str(lead_file)}],
            "offer": {"product": "Widgets", "value_proposition": "Faster widgets"},
            "sequence": {"steps": [{"subject": "Hi {first_name}", "body": "Hello"}]},
            "sending": sending,
        }
        | sections
    )
    return CampaignStarted.originate(
        producer="test", key=(campaign_id, uuid.uuid4().hex), campaign_id=campaign_id, campaign=spec
    )


def unique_campaign_id() -> str:
    return f"it-{uuid.uuid4().hex[:12]}"


async def publish(js: JetStreamContext, event: Event, msg_id: str | None = None) -> None:
    await js.publish(
        event.subject,
        event.model_dump_json().encode(),
        stream=stream_for(event.subject).name,
        headers={"Nats-Msg-Id": msg_id or str(event.event_id)},
    )


async def read_events(
    js: JetStreamContext, subject: str, campaign_id: str, done: Callable[[list[dict[str, Any]]], bool]
) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """(body, headers) of this campaign's events on `subject`, read from the start until `done` says so."""
    found: list[tuple[dict[str, Any], dict[str, str]]] = []
    sub = await js.subscribe(subject, stream=stream_for(subject).name, ordered_consumer=True)
    try:
        async with asyncio.timeout(60):
            while not done([body for body, _ in found]):
                msg = await sub.next_msg(timeout=30)
                body = json.loads(msg.data)
                if body.get("campaign_id") == campaign_id:
                    found.append((body, dict(msg.headers or {})))
    finally:
        await sub.unsubscribe()
    return found


async def wait_for(engine: AsyncEngine, sql: str, seconds: float = 30, **params: Any) -> None:
    async with asyncio.timeout(seconds):
        while True:
            async with engine.connect() as conn:
                if (await conn.execute(text(sql), params)).scalar():
                    return
            await asyncio.sleep(0.1)


async def wait_until_consumed(js: JetStreamContext) -> None:
    """Until discovery's campaign consumer has acknowledged everything delivered to it."""
    async with asyncio.timeout(60):
        while True:
            info = await js.consumer_info("CAMPAIGNS", "discovery--campaign-started")
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.1)


async def read_all(js: JetStreamContext, subject: str, campaign_id: str) -> list[dict[str, Any]]:
    """Every event of this campaign on `subject` stored in the stream right now."""
    stream = stream_for(subject).name
    info = await js.stream_info(stream)
    last = info.state.last_seq
    found: list[dict[str, Any]] = []
    sub = await js.subscribe(subject, stream=stream, ordered_consumer=True)
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=2)
            except nats.errors.TimeoutError:
                break
            if json.loads(msg.data).get("campaign_id") == campaign_id:
                found.append(json.loads(msg.data))
            if msg.metadata.sequence.stream >= last:
                break
    finally:
        await sub.unsubscribe()
    return found


async def outbox_subjects(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(text("SELECT subject FROM discovery.outbox ORDER BY subject"))).scalars())


async def counters(engine: AsyncEngine, campaign_id: str) -> dict[str, Any]:
    """The campaign row (counters, times, status)."""
    async with engine.connect() as conn:
        row = await conn.execute(text("SELECT * FROM discovery.campaigns WHERE id = :c"), {"c": campaign_id})
        return dict(row.mappings().one())


async def outcome_counts(engine: AsyncEngine, campaign_id: str) -> dict[str, int]:
    """How many of the campaign's rows ended in each outcome (discovery.lead_rows)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT outcome, count(*) FROM discovery.lead_rows WHERE campaign_id = :c GROUP BY outcome"),
            {"c": campaign_id},
        )
        return dict(rows.tuples().all())


def assert_counters_add_up(c: dict[str, Any]) -> None:
    """The identities docs/services/discovery.md promises, at any moment of an import."""
    assert c["rows_read"] == c["published"] + c["held"] + c["invalid"] + c["duplicates"] + c["excluded"], c
    assert c["valid"] == c["rows_read"] - c["invalid"], c
    assert c["available"] == c["valid"] - c["duplicates"] - c["cross_excluded"], c
    assert c["cross_excluded"] == c["excluded_emailed"] + c["excluded_bounced"] + c["excluded_unsubscribed"], c
    assert c["excluded"] == c["cross_excluded"] + c["excluded_event_window"] + c["excluded_below_tier"], c
    assert c["scored"] == c["tier_a"] + c["tier_b"] + c["tier_c"] == c["available"] - c["excluded_event_window"], c


async def outbox_events(engine: AsyncEngine, campaign_id: str, subject: str) -> list[dict[str, Any]]:
    """Payloads this campaign stored in the outbox under `subject` (a LIKE pattern)."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT payload FROM discovery.outbox WHERE subject LIKE :s ORDER BY created_at"), {"s": subject}
        )
        return [p for (p,) in rows if p.get("campaign_id") == campaign_id]
