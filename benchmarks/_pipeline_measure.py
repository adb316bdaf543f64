"""What the pipeline benchmark measures, from the streams themselves: per-lead journeys and the raw JetStream rate.

Times come from JetStream (the server stamps every stored message), not from the services' clocks or payloads,
so a stage's latency is "stored upstream event -> stored downstream event": queueing, handling, database and
the outbox publish together.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import nats
from nats.js.api import AckPolicy, ConsumerConfig

from coldstream.stream_scan import read_stream
from coldstream_shared import subjects
from coldstream_shared.streams import STREAM_CONFIGS

# Per-lead path of a first touch, in order; campaign.started is the campaign-wide origin.
JOURNEY = (subjects.LEAD_SCRAPED, subjects.LEAD_VERIFIED, subjects.EMAIL_GENERATED, subjects.EMAIL_SENT)
STAGES = (
    ("discovery (campaign.started → lead.scraped)", subjects.CAMPAIGN_STARTED, subjects.LEAD_SCRAPED),
    ("enrichment (lead.scraped → lead.verified)", subjects.LEAD_SCRAPED, subjects.LEAD_VERIFIED),
    ("personalization (lead.verified → email.generated)", subjects.LEAD_VERIFIED, subjects.EMAIL_GENERATED),
    ("sending (email.generated → email.sent)", subjects.EMAIL_GENERATED, subjects.EMAIL_SENT),
    ("end to end (lead.scraped → email.sent)", subjects.LEAD_SCRAPED, subjects.EMAIL_SENT),
)


@dataclass(frozen=True)
class Stamped:
    """One stored event of the campaign: subject, lead (if any), touch step (if any), server time (epoch s)."""

    subject: str
    lead_id: str | None
    step: int | None
    at: float


async def read_stamped(
    nats_url: str, campaign_id: str, streams: Iterable[str] = ("CAMPAIGNS", "LEADS", "EMAILS")
) -> list[Stamped]:
    """The campaign's stored events with the time each stream stored them."""
    nc = await nats.connect(nats_url, connect_timeout=5)
    try:
        per_stream = await asyncio.gather(*(read_stream(nc, s) for s in streams))
    finally:
        await nc.close()
    found = []
    for stored, _ in per_stream:
        for message in stored:
            payload = message.payload()
            if payload is not None and payload.get("campaign_id") == campaign_id:
                found.append(Stamped(message.subject, payload.get("lead_id"), payload.get("step"), message.time))
    return sorted(found, key=lambda s: s.at)


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99 (inclusive method: a sample of one is its own percentile)."""
    if not values:
        return {}
    if len(values) == 1:
        return {"p50": values[0], "p95": values[0], "p99": values[0]}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


@dataclass
class Journeys:
    """Figures derived from the stamped events of one campaign run."""

    started_at: float | None
    first_at: dict[str, dict[str, float]]  # subject -> lead -> first stored time
    per_subject: dict[str, list[float]]  # subject -> every stored time (all steps)
    latencies: dict[str, list[float]] = field(default_factory=dict)  # stage label -> seconds per lead

    @property
    def sent_times(self) -> list[float]:
        return sorted(self.first_at[subjects.EMAIL_SENT].values())

    def sustained_rate(self) -> float | None:
        """First touches sent per second, from campaign.started to the last email.sent."""
        sent = self.sent_times
        if not sent or self.started_at is None or sent[-1] <= self.started_at:
            return None
        return len(sent) / (sent[-1] - self.started_at)

    def steady_rate(self) -> float | None:
        """Sends per second between the 10th and the 90th percentile send (no ramp-up, no tail)."""
        sent = self.sent_times
        lo, hi = int(len(sent) * 0.1), int(len(sent) * 0.9) - 1
        if hi <= lo or sent[hi] <= sent[lo]:
            return None
        return (hi - lo) / (sent[hi] - sent[lo])

    def subject_rate(self, subject: str) -> tuple[int, float | None]:
        """(events, events/s between the first and the last of them)."""
        times = self.per_subject.get(subject, [])
        if len(times) < 2 or times[-1] <= times[0]:
            return len(times), None
        return len(times), (len(times) - 1) / (times[-1] - times[0])


def journeys(events: list[Stamped]) -> Journeys:
    """Join the events per lead (first occurrence wins: a redelivery must not shorten or stretch a stage)."""
    started = [e.at for e in events if e.subject == subjects.CAMPAIGN_STARTED]
    first_at: dict[str, dict[str, float]] = {s: {} for s in JOURNEY}
    per_subject: dict[str, list[float]] = {}
    for e in events:
        per_subject.setdefault(e.subject, []).append(e.at)
        if e.subject in first_at and e.lead_id and (e.subject != subjects.EMAIL_SENT or e.step in (None, 1)):
            first_at[e.subject].setdefault(e.lead_id, e.at)
    for times in per_subject.values():
        times.sort()
    result = Journeys(min(started) if started else None, first_at, per_subject)
    for label, before, after in STAGES:
        ends = first_at[after]
        if before == subjects.CAMPAIGN_STARTED:
            origin = result.started_at
            result.latencies[label] = [] if origin is None else [t - origin for t in ends.values()]
        else:
            starts = first_at[before]
            result.latencies[label] = [ends[lead] - starts[lead] for lead in ends.keys() & starts.keys()]
    return result


@dataclass(frozen=True)
class RawRates:
    """Plain JetStream on the same server: msgs/s for each way of publishing, and for consuming."""

    messages: int
    publish_sequential: float
    publish_concurrent: float
    consume: float

    @property
    def round_trip(self) -> float:
        """Messages/s when each is published (acked, one at a time) and then consumed (acked): 1/(1/p + 1/c)."""
        return 1 / (1 / self.publish_sequential + 1 / self.consume)


async def raw_jetstream(nats_url: str, messages: int, size: int = 1024) -> RawRates:
    """Publish and consume `messages` ~`size`-byte messages on a throwaway stream configured like LEADS."""
    tag = uuid.uuid4().hex[:8]
    name, prefix = f"BENCH_RAW_{tag}", f"benchraw.{tag}"
    # Same retention, storage, discard policy and duplicate window as our streams (the server's sync_interval
    # applies to every stream). Only the byte cap is smaller: the server reserves each stream's cap up front,
    # and ours already hold 6 x 8 GiB of it.
    config = replace(
        STREAM_CONFIGS["LEADS"], name=name, subjects=[f"{prefix}.>"], description="pipeline bench", max_bytes=1024**3
    )
    payload = b"x" * size
    nc = await nats.connect(nats_url, connect_timeout=5)
    js = nc.jetstream(timeout=30)
    await js.add_stream(config=config)
    try:
        # Nats-Msg-Id on every publish, as our outbox sends it: the server pays for duplicate tracking.
        began = time.perf_counter()
        for i in range(messages):
            await js.publish(f"{prefix}.seq", payload, headers={"Nats-Msg-Id": f"s{i}"})
        sequential = messages / (time.perf_counter() - began)

        began = time.perf_counter()
        pending = [
            await js.publish_async(f"{prefix}.async", payload, headers={"Nats-Msg-Id": f"a{i}"})
            for i in range(messages)
        ]
        await asyncio.gather(*pending)
        concurrent = messages / (time.perf_counter() - began)

        consumer = ConsumerConfig(durable_name="bench", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=10_000)
        sub = await js.pull_subscribe(f"{prefix}.>", durable="bench", stream=name, config=consumer)
        began, seen = time.perf_counter(), 0
        while seen < 2 * messages:
            for msg in await sub.fetch(batch=256, timeout=10):
                await msg.ack()
                seen += 1
        await nc.flush()
        consumed = seen / (time.perf_counter() - began)
    finally:
        await js.delete_stream(name)
        await nc.close()
    return RawRates(messages, sequential, concurrent, consumed)
