"""Discovery: a 100,000-row CSV imported, deduplicated against 1,000,000 known contacts, scored and published.

Real Postgres and nats-server (started here), the service's own use case (ImportCampaign: batches, outbox,
JetStream publish). Stage figures come from running each pure stage alone over the same file; the end-to-end
figure is the whole import. Peak memory is this process's maximum RSS during the import (Postgres and NATS are
separate processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import resource
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import nats
import nats.errors
import psutil
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from benchmarks._discovery_measure import GcClock, cpu_by_process, fsync_publish_rate, import_stages, peak_rss_mb
from benchmarks._discovery_report import Workload, report
from coldstream.runtime.nats import NatsServer
from coldstream.runtime.postgres import FAST_TEST_SETTINGS, PostgresServer
from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.events import CampaignStarted
from coldstream_shared.heap import settle_heap
from coldstream_shared.messaging import declare_streams
from coldstream_shared.migrations import upgrade
from coldstream_shared.service import build_runtime
from discovery.import_campaign import SERVICE, ImportCampaign
from discovery.known import KnownSet, known_emails
from discovery.outcomes import CampaignView, decide, prepare
from discovery.preparation import RowPreparer
from discovery.settings import DiscoverySettings
from discovery.sources import open_source
from discovery.store import metadata

# Smaller runs while iterating: BENCH_DISCOVERY_ROWS=20000 .venv/bin/python -m benchmarks discovery
ROWS = int(os.environ.get("BENCH_DISCOVERY_ROWS", 100_000))
KNOWN = int(os.environ.get("BENCH_DISCOVERY_KNOWN", 1_000_000))
TARGET_SECONDS = 30
TITLES = ["Head of Growth", "VP Marketing", "Marketing Manager", "CTO", "Accountant", "Sales Director", "Engineer"]
COUNTRIES = [("Germany", "+49 30 {:07d}"), ("France", "+33 1 {:08d}"), ("United Kingdom", "+44 20 {:08d}")]
INDUSTRIES = ["SaaS", "Retail", "Fintech", "Logistics"]
# Real-looking names. The fuzzy duplicate rule compares names at one company domain, and row n's company is
# n % 20,000: the five people of a company get five different surnames, so only planted duplicates match.
FIRST_NAMES = (
    "Anna Ben Carla David Emma Felix Greta Hugo Ines Jonas Klara Lukas Mia Noah Olga Paul Rosa Sven Tara Yusuf"
)
SURNAMES = ("Bauer", "Costa", "Dubois", "Eriksen", "Kowalski")


def name_of(n: int) -> tuple[str, str]:
    return FIRST_NAMES.split()[n % 20], SURNAMES[(n // 20_000) % len(SURNAMES)]


class DefaultSyncNats(NatsServer):
    """nats-server with JetStream's default fsync policy (the stack's config fsyncs before every ack, which caps a
    single stream at the disk's fsync rate; measured separately below)."""

    def render_config(self) -> str:
        return "\n".join(line for line in super().render_config().splitlines() if "sync_interval" not in line) + "\n"


def known_email(i: int) -> str:
    return f"known{i}@corp{i % 50_000}.com"


def write_leads(path: Path, rng: random.Random) -> dict[str, int]:
    """The lead file: 94% new people, 3% known contacts, 2% exact duplicates (case/space), 1% invalid."""
    planted = {"known": 0, "duplicates": 0, "invalid": 0}
    with path.open("w", encoding="utf-8") as out:
        out.write(
            "Email,First Name,Last Name,Title,Company,Website,Country,Phone,Industry,# Employees,Person Linkedin Url\n"
        )
        for i in range(ROWS):
            roll = rng.random()
            n = i
            if roll < 0.03:
                email = known_email(rng.randrange(KNOWN))
                planted["known"] += 1
            elif roll < 0.05 and i > 10:
                n = rng.randrange(i)
                email = f" Lead{n}@Company{n % 20_000}.io "
                planted["duplicates"] += 1
            elif roll < 0.06:
                email = f"broken-{i}"
                planted["invalid"] += 1
            else:
                email = f"lead{i}@company{i % 20_000}.io"
            country, phone = COUNTRIES[n % 3]
            first, last = name_of(n)
            out.write(
                f"{email},{first},{last},{TITLES[n % 7]},Company {n % 20_000},company{n % 20_000}.io,"
                f'{country},"{phone.format(n % 10_000_000)}",{INDUSTRIES[n % 4]},{(n % 500) + 10},'
                f"https://www.linkedin.com/in/lead-{n}\n"
            )
    return planted


async def load_known_contacts(dsn: str, rng: random.Random) -> float:
    """1,000,000 contacts in the projection (COPY): 5% suppressed, 20% emailed within the last year."""
    now = datetime.now(UTC)

    def records() -> Iterator[tuple[object, ...]]:  # a generator: the million rows never sit in memory at once
        for i in range(KNOWN):
            roll = rng.random()
            suppressed = ("unsubscribed" if roll < 0.03 else "bounced") if roll < 0.05 else None
            emailed = now - timedelta(days=rng.randrange(365)) if roll < 0.25 else None
            yield (known_email(i), suppressed, now if suppressed else None, emailed, now)

    started = time.perf_counter()
    conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.copy_records_to_table(
            "contacts",
            schema_name="discovery",
            records=records(),
            columns=["email", "suppressed_reason", "suppressed_at", "last_emailed_at", "updated_at"],
        )
        await conn.execute("ANALYZE discovery.contacts")
    finally:
        await conn.close()
    return time.perf_counter() - started


def spec_for(path: Path) -> CampaignSpec:
    return CampaignSpec.model_validate(
        {
            "id": "bench",
            "name": "Benchmark",
            "icp": {
                "titles": ["Head of Growth", "VP Marketing"],
                "seniority": ["head", "vp"],
                "industries": ["SaaS"],
                "locations": ["Germany", "United Kingdom"],
                "company_size": [50, 500],
            },
            "sources": [{"type": "csv", "path": str(path)}],
            "offer": {"product": "Widgets", "value_proposition": "Faster widgets"},
            "sequence": {"steps": [{"subject": "Hi", "body": "Hello"}]},
            "sending": {"from_name": "Sam", "from_email": "sam@sender.example", "recontact_after_days": 90},
        }
    )


def pure_stages(spec: CampaignSpec) -> dict[str, float]:
    """Seconds for each pure stage alone over the whole file (no database, nothing kept in memory)."""
    lead_file = open_source(0, spec.sources[0])
    timings: dict[str, float] = {}
    started = time.perf_counter()
    for _ in lead_file.rows():
        pass
    timings["read + map columns"] = time.perf_counter() - started
    started = time.perf_counter()
    view = CampaignView("bench", spec.icp)
    decide_seconds = 0.0
    for row in lead_file.rows():
        where = f"row {row.row_number}"
        lead = prepare(row, where)
        t = time.perf_counter()
        decide(row, lead, where, view)
        decide_seconds += time.perf_counter() - t
    total = time.perf_counter() - started - timings["read + map columns"]
    timings["normalise + validate"] = total - decide_seconds
    timings["dedup + score (in memory)"] = decide_seconds
    return timings


async def lookup_latencies(
    sessions: async_sessionmaker[AsyncSession], rng: random.Random, n: int = 2000
) -> tuple[list[float], list[float], float, int]:
    """Single known-contact lookups (half hits, half misses), in milliseconds: through the database, and in the
    in-memory KnownSet snapshot (built once; its build time and size are returned too)."""
    probes = [known_email(rng.randrange(KNOWN)) if i % 2 else f"stranger{i}@nowhere.io" for i in range(n)]
    database: list[float] = []
    async with sessions() as session:
        for email in probes:
            started = time.perf_counter()
            await known_emails(session, [email])
            database.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        snapshot = await KnownSet.of_emails(session)
        build_seconds = time.perf_counter() - started
    memory: list[float] = []
    for email in probes:
        started = time.perf_counter()
        found = email in snapshot
        memory.append((time.perf_counter() - started) * 1000)
        assert found == email.startswith("known")
    return database, memory, build_seconds, len(snapshot)


async def run() -> str:
    rng = random.Random(42)
    with tempfile.TemporaryDirectory(prefix="bench-discovery-") as tmp:
        root = Path(tmp)
        lead_path = root / "leads.csv"
        planted = write_leads(lead_path, rng)
        nats_server = DefaultSyncNats(root / "nats", port=0, http_port=0)
        postgres = PostgresServer(root / "postgres", port=0, settings=FAST_TEST_SETTINGS)
        nats_server.start()
        postgres.start()
        try:
            await asyncio.to_thread(upgrade, "discovery", postgres.dsn)
            load_seconds = await load_known_contacts(postgres.dsn, rng)
            spec = spec_for(lead_path)
            settings = DiscoverySettings(nats_url=nats_server.url, database_url=postgres.dsn, data_dir=root)
            runtime = build_runtime(SERVICE, settings, metadata)
            await declare_streams(runtime.broker)
            started_event = CampaignStarted.originate(producer="bench", key="bench", campaign_id="bench", campaign=spec)
            # Built as the service builds it; its normalisation worker starts with the service, not with an import.
            preparer = RowPreparer(settings.import_workers)
            await preparer.ready()
            import_campaign = ImportCampaign(
                runtime.unit_of_work, batch_size=settings.import_batch_size, preparer=preparer
            )
            workers = [p for p in psutil.Process().children() if "spawn_main" in " ".join(p.cmdline())]
            settle_heap()  # as the service does once started
            clock = import_stages(runtime.outbox, preparer)
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            cpu_before, load_before = cpu_by_process(), os.getloadavg()[0]
            started = time.perf_counter()
            relay = asyncio.create_task(runtime.outbox.relay())  # as in the service: marks and sweeps the outbox
            redeliveries = 0
            with GcClock() as gc_clock:
                while True:
                    try:
                        await import_campaign(started_event)
                        break
                    except nats.errors.TimeoutError:
                        # What the service does: the batch is committed, its events wait in the outbox, the handler
                        # fails and JetStream redelivers the start, which resumes after the cursor.
                        redeliveries += 1
                        if redeliveries > 100:
                            raise
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
            while await runtime.outbox.flush(older_than=timedelta(0)) > 0:
                pass
            elapsed = time.perf_counter() - started
            clock.restore()
            cpu = {name: seconds - cpu_before.get(name, 0.0) for name, seconds in cpu_by_process().items()}
            load_after = os.getloadavg()[0]
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            worker_mb = sum(peak_rss_mb(worker) for worker in workers)
            preparer.close()
            async with runtime.engine.connect() as conn:
                c = (await conn.execute(text("SELECT * FROM discovery.campaigns WHERE id = 'bench'"))).mappings().one()
                unpublished = (
                    await conn.execute(text("SELECT count(*) FROM discovery.outbox WHERE published_at IS NULL"))
                ).scalar_one()
                reasons = dict(
                    (
                        await conn.execute(
                            text("SELECT coalesce(reason_code, outcome), count(*) FROM discovery.lead_rows GROUP BY 1")
                        )
                    )
                    .tuples()
                    .all()
                )
            latencies = await lookup_latencies(runtime.sessions, rng)
            await runtime.broker.stop()
            await runtime.engine.dispose()
        finally:
            postgres.stop()
            nats_server.stop()
        stages = pure_stages(spec)
        fsync_rate = await fsync_publish_rate(root)
    figures = {
        "redeliveries": redeliveries,
        "batch": settings.import_batch_size,
        "load": load_seconds,
        "elapsed": elapsed,
        "peak_mb": peak_mb,
        "rss_before": rss_before,
        "worker_mb": worker_mb,
        "workers": len(workers),
        "load_before": load_before,
        "load_after": load_after,
        "gc_seconds": gc_clock.seconds,
        "gc_full": gc_clock.collections[2],
    }
    # the raw figures, whatever the report does
    print(figures, cpu, reasons, unpublished, stages, clock.seconds, flush=True)
    workload = Workload(ROWS, KNOWN, TARGET_SECONDS, planted)
    return report(workload, figures, cpu, dict(c), unpublished, stages, clock.seconds, latencies, fsync_rate)
