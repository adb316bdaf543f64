"""The floor of this design: the CPU and fsyncs of the bare operations a lead needs, with no code of ours around them.

Measured on the benchmark's own servers before the campaign, with the plain clients (nats-py, asyncpg):

- a JetStream publish, pipelined as the outbox publishes (many in flight, then every acknowledgement awaited);
- a JetStream delivery: pulled in batches and acknowledged one by one, as our subscribers do;
- a Postgres statement inside the smallest transaction a hop commits (claim the event, store a state row, store
  the outgoing event in the outbox, commit), several connections at once so commits can share a WAL flush.

CPU is client + server (user + system seconds of both processes); fsyncs are the server's (perf, when available).
Multiplied by what the ledger counted per lead, they give the CPU a lead costs at best with this design.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import asyncpg
import nats
import psutil
from faststream.nats import JStream, NatsBroker, PullSub
from nats.js.api import AckPolicy, ConsumerConfig
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from benchmarks._pipeline_ledger import SyscallCounter
from coldstream_shared.messaging import make_broker
from coldstream_shared.streams import STREAM_CONFIGS
from coldstream_shared.telemetry import JsonLinesSpanExporter

PAYLOAD = b'{"x": "' + b"y" * 1000 + b'"}'  # ~1 KB, about an event of ours
FLOOR_CONNECTIONS = 8
STATEMENTS_PER_TRANSACTION = 5  # BEGIN, claim, state row, outbox row, COMMIT
FSYNC_SAMPLE = 200  # operations counted under perf, apart from the CPU measurement


@dataclass(frozen=True)
class Cost:
    """One bare operation: CPU µs (client, server) and server fsyncs, each per operation."""

    operations: int
    client_us: float
    server_us: float
    fsyncs: float | None

    @property
    def cpu_us(self) -> float:
        return self.client_us + self.server_us


@dataclass(frozen=True)
class Floor:
    publish: Cost
    delivery: Cost
    statement: Cost  # per statement (a transaction's CPU / STATEMENTS_PER_TRANSACTION)
    transaction: Cost
    faststream_us: float | None = None  # client CPU per delivery to a no-op handler, bare FastStream broker
    our_broker_us: float | None = None  # the same through `make_broker` (tracing, lead tag, dead letters)


def _tree_cpu(pid: int) -> float:
    total = 0.0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            continue
    return total


async def _costed(operations: int, server: int, work: Callable[[int], Awaitable[None]]) -> Cost:
    """CPU of `work(operations)`, then fsyncs of a short `work(FSYNC_SAMPLE)` under perf (which costs CPU itself)."""
    client, served = time.process_time(), _tree_cpu(server)
    await work(operations)
    client, served = time.process_time() - client, _tree_cpu(server) - served
    counter = SyscallCounter({"server": server})
    counter.start()
    await asyncio.sleep(0.3)  # perf attaches asynchronously
    await work(FSYNC_SAMPLE)
    counter.stop()
    syncs = counter.counts.get("server")
    fsyncs = None if syncs is None else (syncs["fsync"] + syncs["fdatasync"]) / FSYNC_SAMPLE
    return Cost(operations, 1e6 * client / operations, 1e6 * served / operations, fsyncs)


async def jetstream_floor(nats_url: str, nats_pid: int, messages: int) -> tuple[Cost, Cost]:
    """(publish, delivery) on a throwaway stream configured like LEADS."""
    tag = uuid.uuid4().hex[:8]
    name, subject = f"BENCH_RAW_FLOOR_{tag}", f"benchfloor.{tag}"
    config = replace(STREAM_CONFIGS["LEADS"], name=name, subjects=[f"{subject}.>"], max_bytes=1024**3)
    nc = await nats.connect(nats_url, connect_timeout=5)
    js = nc.jetstream(timeout=30, publish_async_max_pending=messages + FSYNC_SAMPLE + 1)
    await js.add_stream(config=config)
    try:

        async def publish(count: int) -> None:
            ids = [uuid.uuid4().hex for _ in range(count)]
            acks = [
                await js.publish_async(f"{subject}.x", PAYLOAD, wait_stall=None, headers={"Nats-Msg-Id": i})
                for i in ids
            ]
            await asyncio.gather(*acks)

        sub = await js.pull_subscribe(
            f"{subject}.>",
            durable="floor",
            stream=name,
            config=ConsumerConfig(durable_name="floor", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=10_000),
        )

        async def consume(count: int) -> None:
            seen = 0
            while seen < count:
                for msg in await sub.fetch(batch=min(16, count - seen), timeout=10):
                    await msg.ack()
                    seen += 1
            await nc.flush()

        published = await _costed(messages, nats_pid, publish)
        delivered = await _costed(messages, nats_pid, consume)
    finally:
        await js.delete_stream(name)
        await nc.close()
    return published, delivered


async def postgres_floor(libpq_dsn: str, postgres_pid: int, transactions: int) -> Cost:
    """Per transaction: BEGIN; claim; state row; outbox row; COMMIT, over FLOOR_CONNECTIONS connections."""
    schema = f"bench_floor_{uuid.uuid4().hex[:8]}"
    pool = await asyncpg.create_pool(libpq_dsn, min_size=FLOOR_CONNECTIONS, max_size=FLOOR_CONNECTIONS)
    assert pool is not None
    await pool.execute(
        f"CREATE SCHEMA {schema};"
        f"CREATE TABLE {schema}.processed (event_id uuid PRIMARY KEY, subject text, at timestamptz DEFAULT now());"
        f"CREATE TABLE {schema}.state (lead_id uuid PRIMARY KEY, body jsonb);"
        f"CREATE TABLE {schema}.outbox (event_id uuid PRIMARY KEY, subject text, payload jsonb, headers jsonb,"
        " created_at timestamptz DEFAULT now(), published_at timestamptz)"
    )
    body = PAYLOAD.decode()
    try:

        async def one(conn: asyncpg.Connection) -> None:
            event_id, lead_id = uuid.uuid4(), uuid.uuid4()
            async with conn.transaction():
                await conn.fetchval(
                    f"INSERT INTO {schema}.processed (event_id, subject) VALUES ($1, 'x')"
                    " ON CONFLICT DO NOTHING RETURNING event_id",
                    event_id,
                )
                await conn.execute(f"INSERT INTO {schema}.state VALUES ($1, $2::jsonb)", lead_id, body)
                await conn.execute(
                    f"INSERT INTO {schema}.outbox (event_id, subject, payload, headers) VALUES ($1, 'x', $2::jsonb,"
                    " '{}'::jsonb)",
                    uuid.uuid4(),
                    body,
                )

        async def worker(count: int) -> None:
            async with pool.acquire() as conn:
                for _ in range(count):
                    await one(conn)

        async def run(count: int) -> None:
            share = count // FLOOR_CONNECTIONS
            await asyncio.gather(*(worker(share) for _ in range(FLOOR_CONNECTIONS)))

        cost = await _costed(transactions // FLOOR_CONNECTIONS * FLOOR_CONNECTIONS, postgres_pid, run)
    finally:
        await pool.execute(f"DROP SCHEMA {schema} CASCADE")
        await pool.close()
    return cost


async def measure_floor(nats_url: str, nats_pid: int, libpq_dsn: str, postgres_pid: int, count: int) -> Floor:
    publish, delivery = await jetstream_floor(nats_url, nats_pid, count)
    transaction = await postgres_floor(libpq_dsn, postgres_pid, count)
    n = STATEMENTS_PER_TRANSACTION
    fsyncs = None if transaction.fsyncs is None else transaction.fsyncs / n
    statement = Cost(transaction.operations * n, transaction.client_us / n, transaction.server_us / n, fsyncs)
    # The lowest of two runs each, alternated: one run includes the broker's start and is easily disturbed.
    bare = [await faststream_delivery(nats_url, count, ours=ours) for ours in (False, True, False, True)]
    return Floor(publish, delivery, statement, transaction, min(bare[0], bare[2]), min(bare[1], bare[3]))


async def faststream_delivery(nats_url: str, messages: int, *, ours: bool) -> float:
    """Client CPU µs per message delivered through FastStream to a handler that does nothing: with a bare broker, or
    with ours (`make_broker`: tracing to a JSON-lines file, lead tagging, dead letters, message ids)."""
    tag = uuid.uuid4().hex[:8]
    name, subject = f"BENCH_RAW_FS_{tag}", f"benchfs.{tag}"
    config = replace(STREAM_CONFIGS["LEADS"], name=name, subjects=[f"{subject}.>"], max_bytes=1024**3)
    nc = await nats.connect(nats_url, connect_timeout=5)
    js = nc.jetstream(timeout=30, publish_async_max_pending=messages + 1)
    await js.add_stream(config=config)
    provider = TracerProvider()
    folder = tempfile.mkdtemp(prefix="bench-floor-traces-")
    provider.add_span_processor(BatchSpanProcessor(JsonLinesSpanExporter(Path(folder) / "spans.jsonl")))
    broker = make_broker(nats_url, service="benchfloor", tracer_provider=provider) if ours else NatsBroker(nats_url)
    done, seen = asyncio.Event(), [0]

    @broker.subscriber(
        f"{subject}.>",
        stream=JStream(name, declare=False),
        durable="floor",
        pull_sub=PullSub(batch_size=16, timeout=1.0),
        config=ConsumerConfig(ack_wait=60, max_ack_pending=1000),
    )
    async def handle(body: dict[str, object]) -> None:
        seen[0] += 1
        if seen[0] >= messages:
            done.set()

    try:
        acks = [await js.publish_async(f"{subject}.x", PAYLOAD, wait_stall=None) for _ in range(messages)]
        await asyncio.gather(*acks)
        began = time.process_time()
        await broker.start()
        await asyncio.wait_for(done.wait(), timeout=120)
        await broker.stop()
        used = time.process_time() - began
    finally:
        provider.shutdown()
        shutil.rmtree(folder, ignore_errors=True)
        await js.delete_stream(name)
        await nc.close()
    return 1e6 * used / messages
