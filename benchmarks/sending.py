"""Sending throughput: 10,000 emails through the file backend, and 10,000 leads through the fake Instantly API.

Real NATS and Postgres (from the wheels; Postgres with the test suite's durability-off settings), the real use
cases (SendSequence → Dispatcher → backend, UploadQueuedLeads), and for Instantly the local fake of API v2 over
HTTP on loopback, enforcing 100 requests/s (429 above it, plus 1% spurious 429s).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from nats.errors import Error as NatsError
from sqlalchemy import text

from benchmarks._sending_measure import KEY, LIMIT_RPS, Meter, fake_instantly
from coldstream.runtime.nats import NatsServer
from coldstream.runtime.postgres import FAST_TEST_SETTINGS, PostgresServer
from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.events import CampaignStarted, EmailGenerated, LeadData, Touch
from coldstream_shared.messaging import declare_streams
from coldstream_shared.migrations import upgrade
from coldstream_shared.service import Runtime, build_runtime
from sending.compose import Compliance
from sending.dispatch import SERVICE, Dispatcher
from sending.file_outbox import FileOutbox
from sending.instantly.campaigns import InstantlyCampaigns
from sending.instantly.client import InstantlyClient
from sending.instantly.mailer import InstantlyMailer
from sending.instantly.uploader import UploadQueuedLeads
from sending.remember_campaign import RememberCampaign
from sending.send_sequence import SendSequence
from sending.settings import SendingSettings
from sending.store import metadata

EMAILS = int(os.environ.get("BENCH_SENDING_EMAILS", "10000"))
FILE_RUNS = int(os.environ.get("BENCH_SENDING_FILE_RUNS", "3"))
# With one lead per call the request limit (100 leads/s) is the bottleneck whatever the batch: fewer leads suffice.
ONE_PER_CALL_LEADS = int(os.environ.get("BENCH_SENDING_ONE_PER_CALL_LEADS", "2000"))
# Concurrent sequences, as the service's consumer runs them (COLDSTREAM_SEND_CONCURRENCY, max_workers).
WORKERS = SendingSettings.model_fields["send_concurrency"].default
QUEUED = "SELECT count(*) FROM sending.send_ledger WHERE status = 'queued' AND campaign_id = '{cid}'"
LEASE = timedelta(seconds=1)  # short, so a redelivered event need not wait out the production lease
WORKLOAD = """Workload: {emails} generated two-touch sequences per file run, in a fresh database each. File backend:
`SendSequence` as the service's consumer runs it ({workers} messages at once, `COLDSTREAM_SEND_CONCURRENCY`):
group-committed reservation (locks + campaigns, claims + suppression list, every touch inserted with the first
reserved: three statements for up to 100 sequences), fsync'd atomic `.eml` (16 writer threads, one directory fsync
shared by the renames before it), group-committed record + `email.sent` (one statement, the outbox, one commit per
batch; the slot is released at the commit, before the JetStream publish). Instantly: the same first touches
queued, then `UploadQueuedLeads` (rounds of up to 1,000 touches: suppression re-check under the locks, one batch
log row per call, the round's leads/add calls together, `created_leads` mapped back, `email.sent`; each round
recorded while the next is called) against the local fake of API v2 **in its own process** (as the real API is:
its CPU and timing are not ours), which answers 429 above {rps} requests in any second and on 1% of requests at
random. The client's limiter allows {rps} requests in any 1.05 s window (sliding, so a process that was not
scheduled for a moment makes the requests up). "requests/s" counts every request the fake saw (retries of 429s
included) from the start of the upload to the last leads/add answer; "leads/s" runs until every touch is
recorded and its `email.sent` published. Costs are per email (per lead for Instantly, during the upload only);
"here" is this process (the use cases plus the benchmark driver), Postgres and NATS are their own processes.

Reading the Instantly rows: the request limit only binds when calls are small. With 1 lead per call the limit
allows 100 leads/s, so a backlog larger than that measures the share of the request budget the uploader uses;
with 10 per call it takes 1,000 leads/s, close to what this process (0.7-0.9 ms of CPU per lead: the HTTP client,
the ledger, `email.sent`) and JetStream (`sync_interval: always`, an fsync per message) carry on a shared machine;
with 1,000 per call the limit is irrelevant (10 calls).

Machine: 2 cores shared with other helpers' benchmarks and test runs (the load average is in each row): wall
figures are noisy, the per-email costs are not. Before this round (same benchmark, 2,000 emails, 8 concurrent):
file backend 29 emails/s at 13.4 ms CPU/email here, 6 statements, 2 transactions and ~1.9 fsyncs per email;
Instantly 159 leads/s with 10 per call, 209 leads/s with 1,000."""


def started(cid: str, backend: str) -> CampaignStarted:
    spec = CampaignSpec.model_validate(
        {
            "id": cid,
            "name": "sending benchmark",
            "sources": [{"type": "csv", "path": "leads.csv"}],
            "offer": {"product": "p", "value_proposition": "v"},
            "sequence": {"steps": [{"subject": "s", "body": "b"}, {"subject": "s2", "body": "b2", "delay_days": 3}]},
            "sending": {"from_name": "A", "from_email": "a@sender.example", "backend": backend},
        }
    )
    return CampaignStarted.originate(producer="bench", key=cid, campaign_id=cid, campaign=spec)


def generated(cid: str, i: int) -> EmailGenerated:
    email = f"person{i}@co{i % 2000}.example"
    return EmailGenerated.originate(
        producer="bench",
        key=(cid, i),
        lead_id=f"{cid}-lead-{i}",
        campaign_id=cid,
        lead=LeadData(email=email, first_name=f"P{i}"),
        touches=[
            Touch(step=1, subject=f"Hi P{i}", body="Hello"),
            Touch(step=2, subject="Re", body="Again", delay_days=3),
        ],
        writer="template",
        model="template-writer/v1",
        prompt_version="v1",
        quality_score=90,
    )


async def runtime_for(pg: PostgresServer, nats_url: str, name: str, data_dir: Path, meter: Meter) -> Runtime:
    pg.create_database(name)
    dsn = pg.database_dsn(name)
    await asyncio.to_thread(upgrade, "sending", dsn)
    runtime = build_runtime(SERVICE, SendingSettings(nats_url=nats_url, database_url=dsn, data_dir=data_dir), metadata)
    await declare_streams(runtime.broker)
    meter.watch(runtime)
    return runtime


async def in_parallel(send: SendSequence, events: list[EmailGenerated]) -> int:
    """Run the use case like the service's consumer would (WORKERS messages at once); a failure redelivers the
    event (as NATS does). Returns how many redeliveries there were (e.g. a JetStream publish timing out)."""
    queue: asyncio.Queue[EmailGenerated] = asyncio.Queue()
    for event_ in events:
        queue.put_nowait(event_)
    redeliveries = 0

    async def worker() -> None:
        nonlocal redeliveries
        while not queue.empty():
            event_ = queue.get_nowait()
            for _ in range(20):
                try:
                    await send(event_)
                    break
                except Exception:
                    redeliveries += 1
                    await asyncio.sleep(LEASE.total_seconds())

    await asyncio.gather(*(worker() for _ in range(WORKERS)))
    return redeliveries


async def scalar(runtime: Runtime, sql: str) -> Any:
    async with runtime.engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar()


async def file_backend(pg: PostgresServer, nats_url: str, tmp: Path, meter: Meter, run: int) -> dict[str, Any]:
    cid = f"bench-file-{run}"
    runtime = await runtime_for(pg, nats_url, f"bench_file_{run}", tmp, meter)
    try:
        await RememberCampaign(runtime.unit_of_work)(started(cid, "file"))
        outbox = tmp / "outbox"
        mailers = {"file": FileOutbox(outbox, Compliance("http://x", "1 Main St"))}
        dispatcher = Dispatcher(runtime.unit_of_work, mailers, lease=LEASE)
        send = SendSequence(dispatcher, runtime.unit_of_work)
        events = [generated(cid, i) for i in range(EMAILS)]
        result: dict[str, Any] = {}
        began = time.perf_counter()
        with meter.measure(result):
            redeliveries = await in_parallel(send, events)
        elapsed = time.perf_counter() - began
        files = len(list((outbox / cid).glob("*.eml")))
        sent = await scalar(runtime, "SELECT count(*) FROM sending.send_ledger WHERE status = 'sent'")
        return result | {
            "elapsed": elapsed,
            "rate": sent / elapsed,
            "files": files,
            "sent": sent,
            "redeliveries": redeliveries,
        }
    finally:
        await runtime.broker.stop()
        await runtime.engine.dispose()


async def instantly_backend(
    pg: PostgresServer, nats_url: str, tmp: Path, meter: Meter, batch: int, leads: int
) -> dict[str, Any]:
    cid = f"bench-instantly-{batch}"
    runtime = await runtime_for(pg, nats_url, f"bench_instantly_{batch}", tmp, meter)
    answered: list[float] = []  # when each leads/add call was answered: the request window ends with the last
    try:
        with fake_instantly() as (url, fake):
            uow = runtime.unit_of_work
            client = InstantlyClient(KEY, base_url=url, base_delay=0.05)
            mailer = InstantlyMailer(InstantlyCampaigns(client, uow), uow, Compliance("http://x", "1 Main St"))
            dispatcher = Dispatcher(uow, {"instantly": mailer}, batched=frozenset({"instantly"}), lease=LEASE)
            await RememberCampaign(uow)(started(cid, "instantly"))
            await in_parallel(SendSequence(dispatcher, uow), [generated(cid, i) for i in range(leads)])  # queued
            upload = UploadQueuedLeads(
                dispatcher, mailer, uow, batch_size=batch, after_upload=lambda: answered.append(time.perf_counter())
            )
            at_start = fake()
            result: dict[str, Any] = {}
            began = time.perf_counter()
            uploaded, interrupted = 0, 0
            with meter.measure(result):
                while await scalar(runtime, QUEUED.format(cid=cid)):  # as the service's upload loop goes round
                    try:
                        uploaded += await upload()
                    except (TimeoutError, NatsError):  # a publish timed out after a commit: the next round goes on
                        interrupted += 1
            elapsed = time.perf_counter() - began
            await client.aclose()
            at_fake = fake()
        sent = await scalar(
            runtime, f"SELECT count(*) FROM sending.send_ledger WHERE status = 'sent' AND campaign_id = '{cid}'"
        )
        window = max(answered, default=began) - began
        requests = at_fake["requests"] - at_start["requests"]
        return result | {
            "batch": batch,
            "elapsed": elapsed,
            "uploaded": uploaded,
            "sent": sent,
            "leads_rate": uploaded / elapsed,
            "add_calls": at_fake["add_calls"],
            "requests": requests,
            "window": window,
            "requests_rate": requests / window if window else 0.0,
            "throttled": at_fake["throttled"],
            "allowed_rate": LIMIT_RPS * batch,
            "duplicates": at_fake["duplicates"],
            "fake_cpu": (at_fake["cpu_ms"] - at_start["cpu_ms"]) / 1000,
            "interrupted": interrupted,
        }
    finally:
        await runtime.broker.stop()
        await runtime.engine.dispose()


def costs(r: dict[str, Any], units: int, unit: str) -> str:
    return (
        f"CPU {1000 * r['cpu'] / units:.2f} ms/{unit} here + {1000 * r['servers_cpu'] / units:.2f} in Postgres and "
        f"NATS; {r['statements'] / units:.2f} statements, {r['transactions'] / units:.3f} transactions, "
        f"{r['fsyncs'] / units:.2f} fsyncs per {unit}; load {r['load']:.1f}"
    )


async def run() -> str:
    # ignore_cleanup_errors: the trace exporter may still be writing its file when the folder goes.
    with tempfile.TemporaryDirectory(prefix="bench-sending-", ignore_cleanup_errors=True) as folder:
        tmp = Path(folder)
        pg = PostgresServer(tmp / "pg", port=0, settings=FAST_TEST_SETTINGS)
        nats_server = NatsServer(tmp / "nats", port=0, http_port=0)
        pg.start()
        nats_server.start()
        try:
            meter = Meter(pg, nats_server)
            files = []
            for run_ in range(FILE_RUNS):
                files.append(await file_backend(pg, nats_server.url, tmp / f"file{run_}", meter, run_))
                print("file backend:", files[-1], flush=True)
            instantly = []
            for batch, leads in ((1, ONE_PER_CALL_LEADS), (10, EMAILS), (1000, EMAILS)):
                instantly.append(
                    await instantly_backend(pg, nats_server.url, tmp / f"i{batch}", meter, batch=batch, leads=leads)
                )
                print(f"instantly, {batch} per call:", instantly[-1], flush=True)
        finally:
            nats_server.stop()
            pg.stop()
    median = statistics.median(r["rate"] for r in files)
    rows = [
        f"| file backend, run {n + 1}: {EMAILS:,} first touches ({WORKERS} concurrent) | {r['elapsed']:.1f} s | "
        f"**{r['rate']:.0f} emails/s** | {costs(r, r['sent'], 'email')} | {r['files']:,} .eml files, "
        f"{r['sent']:,} ledger rows sent, {r['redeliveries']} redeliveries |"
        for n, r in enumerate(files)
    ]
    rows.append(f"| file backend, median of {FILE_RUNS} | | **{median:.0f} emails/s** | | |")
    for r in instantly:
        rows.append(
            f"| Instantly fake @ {LIMIT_RPS} req/s, {r['batch']} leads per leads/add, {r['uploaded']:,} leads | "
            f"{r['elapsed']:.1f} s | **{r['requests_rate']:.0f} requests/s = {r['requests_rate'] / LIMIT_RPS:.0%} of "
            f"the limit** while calling ({r['window']:.1f} s); **{r['leads_rate']:.0f} leads/s** until all recorded "
            f"({r['leads_rate'] / r['allowed_rate']:.0%} of the {r['allowed_rate']:,} leads/s the limit allows) | "
            f"{costs(r, r['uploaded'], 'lead')} | {r['add_calls']} leads/add calls, {r['requests']} requests, "
            f"{r['throttled']} answered 429, {r['sent']:,} sent, **{r['duplicates']} duplicates** at the fake, "
            f"{r['interrupted']} interrupted rounds |"
        )
    return "\n".join(
        [
            "## Sending",
            "",
            WORKLOAD.format(emails=f"{EMAILS:,}", rps=LIMIT_RPS, workers=WORKERS),
            "",
            "| run | time | throughput | cost (load-independent) | checks |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "Reproduce: `.venv/bin/python -m benchmarks sending`.",
        ]
    )
