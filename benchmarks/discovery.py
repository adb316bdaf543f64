"""Discovery: a 100,000-row CSV imported, deduplicated against 1,000,000 known contacts, scored and published.

Real Postgres and nats-server (started here), the service's own use case (ImportCampaign: batches, outbox,
JetStream publish). Stage figures come from running each pure stage alone over the same file; the end-to-end
figure is the whole import. Peak memory is this process's maximum RSS during the import (Postgres and NATS are
separate processes).
"""

from __future__ import annotations

import asyncio
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import nats
import nats.errors
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from coldstream.runtime.nats import NatsServer
from coldstream.runtime.postgres import FAST_TEST_SETTINGS, PostgresServer
from coldstream_shared.campaign import CampaignSpec
from coldstream_shared.events import CampaignStarted
from coldstream_shared.messaging import declare_streams
from coldstream_shared.migrations import upgrade
from coldstream_shared.service import build_runtime
from coldstream_shared.streams import ensure_streams
from discovery.import_campaign import SERVICE, ImportCampaign
from discovery.known import KnownSet, known_emails
from discovery.outcomes import CampaignView, decide, prepare
from discovery.settings import DiscoverySettings
from discovery.sources import open_source
from discovery.store import metadata

ROWS = 100_000
KNOWN = 1_000_000
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


async def fsync_publish_rate(root: Path, n: int = 2000) -> float:
    """Events/s JetStream acknowledges with `sync_interval: always` (the stack's setting), sequential publishes."""
    server = NatsServer(root / "nats-fsync", port=0, http_port=0)
    server.start()
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_streams(js)
        payload = b"x" * 600  # about one lead.scraped event
        started = time.perf_counter()
        for i in range(n):
            await js.publish("lead.scraped", payload, stream="LEADS", headers={"Nats-Msg-Id": f"m{i}"}, timeout=30)
        rate = n / (time.perf_counter() - started)
        await nc.close()
    finally:
        server.stop()
    return rate


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
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            started = time.perf_counter()
            import_campaign = ImportCampaign(runtime.unit_of_work, batch_size=settings.import_batch_size)
            redeliveries = 0
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
            while await runtime.outbox.flush() > 0:
                pass
            elapsed = time.perf_counter() - started
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
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
    }
    print(figures, reasons, unpublished, stages, flush=True)  # the raw figures, whatever the report does
    return report(planted, figures, dict(c), unpublished, stages, latencies, fsync_rate)


def report(
    planted: dict[str, int],
    figures: dict[str, float],
    c: dict[str, object],
    unpublished: int,
    stages: dict[str, float],
    latencies: tuple[list[float], list[float], float, int],
    fsync_rate: float,
) -> str:
    load_seconds, elapsed, peak_mb, rss_before = (figures[k] for k in ("load", "elapsed", "peak_mb", "rss_before"))
    batch = int(figures["batch"])
    database, memory, build_seconds, known_size = latencies
    p50, p99 = statistics.median(database), statistics.quantiles(database, n=100)[98]
    m50, m99 = statistics.median(memory), statistics.quantiles(memory, n=100)[98]
    verdict = "meets" if elapsed <= TARGET_SECONDS and peak_mb < 500 and min(p99, m99) < 1 else "misses"
    stage_rows = "\n".join(f"| {name} | {seconds:.1f} s | {ROWS / seconds:,.0f} |" for name, seconds in stages.items())
    db_seconds = max(0.0, elapsed - sum(stages.values()))
    return f"""## Discovery

**Workload:** a {ROWS:,}-row CSV (11 columns, Apollo-style headers; planted: {planted["known"]:,} known contacts,
{planted["duplicates"]:,} exact duplicates, {planted["invalid"]:,} invalid addresses) imported by `ImportCampaign`
against {KNOWN:,} known contacts in `discovery.contacts` (5% suppressed, 20% emailed in the last year; loaded with
COPY in {load_seconds:.1f} s, not counted), ICP with titles, seniority, industry, location and size. Real Postgres
and nats-server; batches of {batch} rows, each one transaction (outcomes, leads, exclusion log, organisations,
counters, outbox) followed by the JetStream publish of its events.

Result: **{verdict}** the target (<= {TARGET_SECONDS} s, < 500 MB, lookup p99 < 1 ms).

| figure | value |
|---|---|
| end-to-end import (read, normalise, dedup, exclude, score, store, publish) \
| **{elapsed:.1f} s** ({ROWS / elapsed:,.0f} rows/s) |
| peak RSS of the importing process | {peak_mb:.0f} MB (before the import: {rss_before:.0f} MB) |
| known-contact lookup, database (one address per query, 2,000 calls) | p50 {p50:.2f} ms, p99 {p99:.2f} ms |
| known-contact lookup, `KnownSet` snapshot ({known_size:,} addresses, built in {build_seconds:.1f} s) \
| p50 {m50 * 1000:.1f} µs, p99 {m99 * 1000:.1f} µs |
| outcomes | {c["published"]:,} published, {c["invalid"]:,} rejected, {c["duplicates"]:,} duplicates, \
{c["excluded"]:,} excluded ({c["cross_excluded"]:,} by history) |
| events left unpublished in the outbox after the import | {unpublished} |
| publish timeouts (each one a redelivery that resumed after the cursor) | {int(figures["redeliveries"])} |

Rows/s per stage (each pure stage run alone over the same file; "store + publish" is the rest of the end-to-end
time):

| stage | time | rows/s |
|---|---|---|
{stage_rows}
| store + publish (Postgres, outbox, JetStream) | {db_seconds:.1f} s | {ROWS / db_seconds if db_seconds else 0:,.0f} |

**JetStream fsync.** The stack's nats-server fsyncs before acknowledging each message (`sync_interval: always`).
Measured here: {fsync_rate:,.0f} acknowledged publishes/s on one stream, so publishing {ROWS:,} lead events takes at
least {ROWS / fsync_rate:.0f} s with that setting, whatever discovery does. The import above therefore runs against
a nats-server with JetStream's default fsync policy; everything else (Postgres with the test settings, the outbox,
the publish of every event) is as in the service.

Reproduce: `.venv/bin/python -m benchmarks discovery`.
"""
