"""Helpers for the personalization integration tests: events in, events and rows out."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

from nats.js.client import JetStreamContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream_shared.campaign import (
    Approvals,
    CampaignSpec,
    Offer,
    PersonalizationPolicy,
    Sending,
    Sequence,
    Source,
    Step,
)
from coldstream_shared.events import CampaignStarted, Event, LeadData, LeadVerified
from personalization.store import campaigns, llm_calls, sequences

GUARD = 60.0  # seconds: only so a broken run fails instead of hanging, never a performance claim
STEPS = [
    Step(
        subject="{first_name}, an idea for {company}",
        body="Hi {first_name},\n\n{value_proposition}.\n\n{call_to_action}\n\n{sender_name}",
    ),
    Step(subject="Re: {company}", body="Hi {first_name}, bumping this.\n\n{sender_name}", delay_days=3),
]


def new_campaign_id() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


def started(
    campaign_id: str,
    steps: list[Step] | None = None,
    *,
    policy: PersonalizationPolicy | None = None,
    sending_approval: str = "auto",
    variants: int = 1,
) -> CampaignStarted:
    spec = CampaignSpec(
        id=campaign_id,
        name="Personalization test",
        sources=[Source(path="leads.csv")],
        offer=Offer(
            product="Acme Reports",
            value_proposition="Weekly reports in one click",
            proof_points=["cut reporting time by 40% at Initech"],
        ),
        sequence=Sequence(steps=steps or STEPS, variants=variants),
        sending=Sending(from_name="Dana", from_email="dana@acme.test"),
        personalization=policy or PersonalizationPolicy(),
        approvals=Approvals(sending=sending_approval),  # type: ignore[arg-type]
    )
    return CampaignStarted.originate(producer="test", key=campaign_id, campaign_id=campaign_id, campaign=spec)


def verified(campaign_id: str, lead: LeadData, **fields: Any) -> LeadVerified:
    lead_id = f"lead-{uuid.uuid4().hex[:12]}"
    return LeadVerified.originate(
        producer="test",
        key=lead_id,
        lead_id=lead_id,
        campaign_id=campaign_id,
        lead=lead,
        verdict="unknown",
        verified_by="syntax-only",
        **fields,
    )


async def publish(js: JetStreamContext, event: Event) -> int:
    ack = await js.publish(
        event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": str(event.event_id)}
    )
    return ack.seq


async def first_match(js: JetStreamContext, subject: str, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first message on `subject` (from the start of its stream) that `match` accepts."""
    sub = await js.subscribe(subject, ordered_consumer=True)
    try:
        async with asyncio.timeout(GUARD):
            async for msg in sub.messages:
                body = json.loads(msg.data)
                if match(body):
                    return body
    finally:
        await sub.unsubscribe()
    raise AssertionError("subscription ended")


async def all_until(js: JetStreamContext, subject: str, done: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Every message on `subject` from the start of its stream up to and including the first that `done` accepts."""
    seen: list[dict[str, Any]] = []
    sub = await js.subscribe(subject, ordered_consumer=True)
    try:
        async with asyncio.timeout(GUARD):
            async for msg in sub.messages:
                seen.append(json.loads(msg.data))
                if done(seen[-1]):
                    return seen
    finally:
        await sub.unsubscribe()
    raise AssertionError("subscription ended")


async def query(database_url: str, statement: Any) -> list[Any]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(statement)).all())
    finally:
        await engine.dispose()


async def stored_sequences(database_url: str, lead_id: str) -> list[Any]:
    return await query(database_url, select(sequences).where(sequences.c.lead_id == lead_id).order_by("variant"))


async def cost_log(database_url: str, campaign_id: str) -> list[Any]:
    return await query(database_url, select(llm_calls).where(llm_calls.c.campaign_id == campaign_id))


async def wait_for_rows(database_url: str, lead_id: str) -> list[Any]:
    """Poll until the lead's sequences are stored."""
    async with asyncio.timeout(GUARD):
        while not (rows := await stored_sequences(database_url, lead_id)):
            await asyncio.sleep(0.05)
    return rows


async def wait_for_campaign(database_url: str, campaign_id: str) -> None:
    """Poll until personalization has stored the campaign's projection."""
    statement = select(campaigns.c.campaign_id).where(campaigns.c.campaign_id == campaign_id)
    async with asyncio.timeout(GUARD):
        while not await query(database_url, statement):
            await asyncio.sleep(0.05)
