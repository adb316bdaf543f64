"""Enrichment throughput: 10,000 leads across 2,000 company domains, every provider faked at 50 ms latency.

The backlog (campaign.started + 10,000 lead.scraped) is published first, then the service starts and drains it;
the clock runs from start until every lead has a verification row. Real NATS, Postgres and DNS (dnslib); the
providers (ZeroBounce, PDL person/company, Hunter) and the company websites are one HTTP fake on loopback.
ZeroBounce and PDL person go through their bulk endpoints (BENCH_ENRICHMENT_BULK=0: one call per lead). The
service runs in this process, tuned as `python -m enrichment` is (uvloop, GC thresholds, startup objects frozen);
the fakes run in their own processes so their CPU is not counted as the service's. Besides CPU per lead, the run
reports the leads in flight (sampled) and how long the event loop thread was runnable but waiting for a CPU: that
tells a service waiting on itself (a lock, a pool, a commit) from one starved of CPU by other processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import nats
import psutil
import uvloop
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from coldstream.fakes.dns import serve_dns
from coldstream.fakes.providers import serve_providers_process
from coldstream.runtime.nats import NatsServer
from coldstream.runtime.postgres import FAST_TEST_SETTINGS, PostgresServer
from coldstream_shared import subjects
from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.events import CampaignStarted, Event, LeadData, LeadScraped
from coldstream_shared.heap import settle_heap
from coldstream_shared.migrations import upgrade
from coldstream_shared.streams import ensure_streams, stream_for
from enrichment.main import create_app
from enrichment.settings import EnrichmentSettings
from enrichment.store import provider_calls, verifications
from enrichment.testing import FAKE_ZONE, settings_for_fakes

from ._enrichment_report import BULK, CONCURRENCY, DOMAINS, LATENCY, LEADS, PROVIDERS, report

CAMPAIGN = "bench-enrichment"


def spec() -> CampaignSpec:
    return CampaignSpec.model_validate(
        {
            "id": CAMPAIGN,
            "name": "enrichment benchmark",
            "sources": [{"type": "csv", "path": "leads.csv"}],
            "offer": {"product": "p", "value_proposition": "v"},
            "sequence": {"steps": [{"subject": "s", "body": "b"}]},
            "sending": {"from_name": "A", "from_email": "a@b.example"},
            "enrichment": {"accept_verdicts": ["safe", "catch_all", "unknown"], "budget_usd": 100_000},
        }
    )


def backlog(port: str) -> list[Event]:
    events: list[Event] = [
        CampaignStarted.originate(producer="bench", key=(CAMPAIGN,), campaign_id=CAMPAIGN, campaign=spec())
    ]
    for i in range(LEADS):
        domain = f"co{i % DOMAINS}.example"
        email = f"person{i}.x@{domain}"
        lead = LeadData(email=email, first_name=f"P{i}", last_name="X", website=f"http://{domain}:{port}/")
        events.append(
            LeadScraped.originate(
                producer="bench",
                key=(CAMPAIGN, email),
                lead_id=f"lead-{i}",
                campaign_id=CAMPAIGN,
                lead=lead,
                source="b",
            )
        )
    return events


async def publish(nats_url: str, events: list[Event]) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_streams(js)
    for start in range(0, len(events), 500):
        await asyncio.gather(
            *(
                js.publish(
                    e.subject,
                    e.model_dump_json().encode(),
                    stream=stream_for(e.subject).name,
                    headers={"Nats-Msg-Id": str(e.event_id)},
                )
                for e in events[start : start + 500]
            )
        )
    await nc.close()


XACTS = text("select xact_commit + xact_rollback from pg_stat_database where datname = current_database()")


async def transactions(engine: AsyncEngine) -> int:
    """Transactions Postgres has counted so far (each is at least one round trip; stats flush within a second)."""
    await asyncio.sleep(1.5)
    async with engine.connect() as conn:
        await conn.execute(text("select pg_stat_clear_snapshot()"))
        return int(await conn.scalar(XACTS) or 0)


def leads_in_flight(app: Any) -> Callable[[], int]:
    """Leads being handled right now: the worker slots taken in the lead.scraped subscriber (FastStream max_workers)."""
    subscriber = next(s for s in app.broker.subscribers if s.subject.broker_address == subjects.LEAD_SCRAPED)
    return lambda: subscriber.max_workers - int(subscriber.limiter.value)


def run_queue_wait() -> tuple[float, float]:
    """(On a CPU, runnable but waiting for one) in seconds, for this thread: the service's event loop. Waiting for a
    CPU is starvation by other processes; neither is time spent waiting on I/O, locks or pools."""
    on_cpu, waiting, _ = Path(f"/proc/self/task/{threading.get_native_id()}/schedstat").read_text().split()
    return int(on_cpu) / 1e9, int(waiting) / 1e9


def helper_cpu() -> float:
    """CPU seconds used so far by this process's children: NATS, Postgres and its backends, the fakes."""
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            times = child.cpu_times()
            total += times.user + times.system
    return total


async def drain(settings: EnrichmentSettings) -> dict[str, object]:
    """Drain the backlog: seconds, rows processed, spend (USD), CPU seconds of the service and of the rest, the event
    loop's run-queue wait, database transactions, and the leads in flight every 0.5 s."""
    engine = create_async_engine(settings.database_url)
    app = create_app(settings)
    before = await transactions(engine)
    in_flight, seen = leads_in_flight(app), []
    cpu, others, sched = time.process_time(), helper_cpu(), run_queue_wait()
    started = time.perf_counter()
    await app.start()
    settle_heap()  # as `coldstream_shared.service.serve` does after startup
    try:
        async with engine.connect() as conn:
            done = 0
            while done < LEADS and time.perf_counter() - started < 900:
                await asyncio.sleep(0.5)
                seen.append(in_flight())
                done = await conn.scalar(select(func.count()).select_from(verifications)) or 0
        elapsed = time.perf_counter() - started
        cpu, others = time.process_time() - cpu, helper_cpu() - others
        sched = tuple(after - before for after, before in zip(run_queue_wait(), sched, strict=True))
        load = os.getloadavg()
        xacts = await transactions(engine) - before
        async with engine.connect() as conn:
            spent = await conn.scalar(
                select(func.coalesce(func.sum(provider_calls.c.cost_usd), 0)).where(
                    provider_calls.c.campaign_id == CAMPAIGN
                )
            )
    finally:
        await app.stop()
        await engine.dispose()
    return {
        "elapsed": elapsed,
        "done": done,
        "spent": float(spent or 0),
        "cpu": cpu,
        "others": others,
        "xacts": xacts,
        "load": load,
        "in_flight": [n for n in seen if n] or [0],
        "loop_on_cpu": sched[0],
        "loop_cpu_wait": sched[1],
    }


def _serve_dns(conn: Connection) -> None:
    with serve_dns(FAKE_ZONE) as port:
        conn.send(port)
        with contextlib.suppress(EOFError):
            conn.recv()


@contextlib.contextmanager
def dns_process() -> Iterator[int]:
    """The DNS fake in its own process (its CPU is not the service's); yields its port."""
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(target=_serve_dns, args=(theirs,), daemon=True)
    process.start()
    try:
        yield ours.recv()
    finally:
        ours.send("stop")
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


def run() -> str:
    """On uvloop, as `coldstream_shared.service.serve` runs every service."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(measure())


async def measure() -> str:
    with tempfile.TemporaryDirectory(prefix="bench-enrichment-") as tmp:
        root = Path(tmp)
        nats_server = NatsServer(root / "nats", port=0, http_port=0)
        postgres = PostgresServer(root / "postgres", port=0, settings=FAST_TEST_SETTINGS)
        nats_server.start()
        postgres.start()
        try:
            with dns_process() as dns_port, serve_providers_process(LATENCY) as url:
                await asyncio.to_thread(upgrade, "enrichment", postgres.dsn)
                await publish(nats_server.url, backlog(url.rsplit(":", 1)[1]))
                settings = settings_for_fakes(
                    nats_url=nats_server.url,
                    database_url=postgres.dsn,
                    data_dir=root,
                    providers_url=url,
                    dns_port=dns_port,
                    enrichment_providers=PROVIDERS,
                    enrichment_website=PROVIDERS,
                    provider_rate_per_second=5_000,
                    # ZeroBounce's batch endpoint really allows 5 calls a minute; like the rate above, the fake
                    # has no such limit, so the pacing is lifted to measure the service rather than the provider.
                    zerobounce_batch_size=200 if BULK else 1,
                    zerobounce_batches_per_minute=300_000,
                    pdl_batch_size=100 if BULK else 1,
                    **({"enrichment_concurrency": CONCURRENCY} if CONCURRENCY else {}),
                )
                result = await drain(settings)
                async with httpx.AsyncClient() as http:
                    seen = (await http.get(f"{url}/_fake/calls")).json()
        finally:
            postgres.stop()
            nats_server.stop()
    return report(result, seen, settings)
