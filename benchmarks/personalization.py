"""Personalization: the Claude writer against a fake model that answers in 2 s, under client-side rate limits.

The service runs as its own process (`python -m personalization`, real nats-server and Postgres) with the real
anthropic SDK pointed at `coldstream.fakes.anthropic.FakeAnthropic` in the benchmark process (latency 2 s, every
answer a valid sequence), as a remote model would be. Two runs:
- 1,000 requests/minute, concurrency 64: does concurrency turn a 2 s call into >= 15 leads/s?
- 60 requests/minute: does the limiter stay at or under 60 in every 60 s window and still reach >= 95% of it,
  with no lead failed or redelivered (heartbeats keep waiting leads alive)?
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import nats
import psutil
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream.fakes.anthropic import FakeAnthropic
from coldstream.runtime.nats import NatsServer
from coldstream.runtime.postgres import FAST_TEST_SETTINGS, PostgresServer
from coldstream_shared.campaign import CampaignSpec, Offer, Sending, Sequence, Source, Step
from coldstream_shared.events import CampaignStarted, LeadData, LeadVerified
from coldstream_shared.migrations import upgrade
from personalization.store import campaigns, llm_calls, sequences

from ._personalization_report import LATENCY, Outcome, report

FAST_LEADS = int(os.environ.get("BENCH_PERSONALIZATION_FAST_LEADS", "600"))
SLOW_LEADS = int(os.environ.get("BENCH_PERSONALIZATION_SLOW_LEADS", "150"))
STEPS = [
    Step(subject="Idea for {company}", body="Hi {first_name}, {value_proposition}.\n\n{sender_name}"),
    Step(subject="Re: {company}", body="Hi {first_name}, bumping this.\n\n{sender_name}", delay_days=3),
]


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """A valid sequence naming the lead's company (read back from the brief in the prompt)."""
    text = request["messages"][0]["content"]
    company = text.split("- Company: ", 1)[1].split("\n", 1)[0]
    touch = {
        "subject": f"{company} weekly numbers",
        "opening_line": f"Hi Jo, running operations at {company} means many weekly numbers.",
        "body": "Acme Reports turns them into one short email every week.",
        "call_to_action": "Worth a chat next week?",
    }
    return {"framework": "PAS", "personalization_level": "high", "touches": [touch, {**touch, "subject": "Re: it"}]}


def campaign(campaign_id: str) -> CampaignStarted:
    spec = CampaignSpec(
        id=campaign_id,
        name="bench",
        sources=[Source(path="x.csv")],
        offer=Offer(product="Acme Reports", value_proposition="Weekly reports in one click"),
        sequence=Sequence(steps=STEPS),
        sending=Sending(from_name="Dana", from_email="dana@acme.test"),
    )
    return CampaignStarted.originate(producer="bench", key=campaign_id, campaign_id=campaign_id, campaign=spec)


async def publish_backlog(nats_url: str, dsn: str, campaign_id: str, leads: int) -> None:
    """The campaign, then (once personalization stored it, so no lead meets an unknown campaign) its leads."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()

    async def send(event: Any) -> None:
        await js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": str(event.event_id)})

    await send(campaign(campaign_id))
    engine = create_async_engine(dsn)
    async with engine.connect() as conn:
        while not await conn.scalar(  # noqa: ASYNC110 - polling another process's writes
            select(func.count()).select_from(campaigns).where(campaigns.c.campaign_id == campaign_id)
        ):
            await asyncio.sleep(0.05)
    await engine.dispose()
    for n in range(leads):
        lead = LeadData(email=f"jo{n}@c{n}.test", first_name="Jo", company=f"Company{n}")
        await send(
            LeadVerified.originate(
                producer="bench",
                key=(campaign_id, n),
                lead_id=f"{campaign_id}-{n}",
                campaign_id=campaign_id,
                lead=lead,
                verdict="unknown",
                verified_by="bench",
            )
        )
    await nc.close()


async def measure(root: Path, nats_url: str, dsn: str, leads: int, rpm: float, concurrency: int) -> Outcome:
    campaign_id = f"bench-{uuid.uuid4().hex[:8]}"
    arrivals: list[float] = []

    def respond(request: dict[str, Any]) -> dict[str, Any]:
        arrivals.append(time.monotonic() - LATENCY)  # respond runs after the fake's latency
        return answer(request)

    engine = create_async_engine(dsn)
    async with FakeAnthropic(respond, latency=LATENCY) as fake:
        env = {
            "COLDSTREAM_NATS_URL": nats_url,
            "COLDSTREAM_DATABASE_URL": dsn,
            "COLDSTREAM_DATA_DIR": str(root),
            "COLDSTREAM_LOG_LEVEL": "WARNING",
            "ANTHROPIC_API_KEY": "bench-key",
            "ANTHROPIC_BASE_URL": fake.base_url,
            "COLDSTREAM_LLM_REQUESTS_PER_MINUTE": str(rpm),
            "COLDSTREAM_LLM_CONCURRENCY": str(concurrency),
        }
        service = await start_service(root, env)
        started = time.monotonic()
        at_start = psutil.Process(service.pid).cpu_times()
        cpu_at_start = at_start.user + at_start.system
        nc = await nats.connect(nats_url)
        before = await nc.jetstream().consumer_info("LEADS", "personalization--lead-verified")
        await nc.close()
        try:
            await publish_backlog(nats_url, dsn, campaign_id, leads)
            async with engine.connect() as conn:
                done = 0
                while done < leads and time.monotonic() - started < 1800:
                    await asyncio.sleep(0.25)
                    count = select(func.count()).select_from(sequences).where(sequences.c.campaign_id == campaign_id)
                    done = await conn.scalar(count) or 0
            seconds = time.monotonic() - started
            cpu = psutil.Process(service.pid).cpu_times()
            cpu_seconds = cpu.user + cpu.system - cpu_at_start
            nc = await nats.connect(nats_url)
            info = await nc.jetstream().consumer_info("LEADS", "personalization--lead-verified")
            dlq = await nc.jetstream().stream_info("DLQ")
            await nc.close()
        finally:
            service.send_signal(signal.SIGTERM)
            await asyncio.wait_for(service.wait(), 60)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(sequences.c.status, func.count())
                .where(sequences.c.campaign_id == campaign_id)
                .group_by(sequences.c.status)
            )
        ).all()
        calls = await conn.scalar(
            select(func.count()).select_from(llm_calls).where(llm_calls.c.campaign_id == campaign_id)
        )
    await engine.dispose()
    by_status = dict(rows)  # type: ignore[arg-type]
    return Outcome(
        leads=leads,
        generated=by_status.get("generated", 0),
        held=by_status.get("held", 0),
        calls=int(calls or 0),
        seconds=seconds,
        arrivals=sorted(arrivals),
        redelivered=info.delivered.consumer_seq - before.delivered.consumer_seq - leads,
        dead_lettered=dlq.state.messages,
        cpu_seconds=cpu_seconds,
    )


async def start_service(root: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    """`python -m personalization`, once it says it is ready (it migrates its schema itself)."""
    ready = root / "ready" / "personalization"
    ready.unlink(missing_ok=True)
    with (root / "personalization.log").open("ab") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "personalization", env=os.environ | env, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 120
    while not ready.exists():
        if proc.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError((root / "personalization.log").read_text())
        await asyncio.sleep(0.2)
    return proc


async def with_nats(root: Path, dsn: str, leads: int, rpm: float, concurrency: int) -> Outcome:
    await asyncio.to_thread(root.mkdir, parents=True, exist_ok=True)
    nats_server = NatsServer(root / "nats", port=0, http_port=0)
    nats_server.start()
    try:
        return await measure(root, nats_server.url, dsn, leads, rpm, concurrency)
    finally:
        nats_server.stop()
        kept = Path(tempfile.gettempdir(), f"bench-personalization-{root.name}.log")  # what the service said
        await asyncio.to_thread(shutil.copyfile, root / "personalization.log", kept)


async def run() -> str:
    with tempfile.TemporaryDirectory(prefix="bench-personalization-") as tmp:
        root = Path(tmp)
        postgres = PostgresServer(root / "postgres", port=0, settings=FAST_TEST_SETTINGS)
        postgres.start()
        try:
            await asyncio.to_thread(upgrade, "personalization", postgres.dsn)
            # A nats-server per run: each run's consumer is created with that run's concurrency (an existing
            # durable keeps its max_ack_pending) and starts with no earlier leads in the stream.
            fast = await with_nats(root / "fast", postgres.dsn, FAST_LEADS, rpm=1000, concurrency=64)
            slow = await with_nats(root / "slow", postgres.dsn, SLOW_LEADS, rpm=60, concurrency=32)
        finally:
            postgres.stop()
    return report(fast, slow)
