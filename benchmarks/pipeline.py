"""The whole pipeline: N leads from campaign.started to email.sent through the embedded stack, five processes.

Everything real (nats-server with `sync_interval: always`, embedded Postgres, the five services as processes) with
the offline defaults as zero-latency fakes: template writer, file outbox backend, syntax-only enrichment. The
stream timestamps give per-lead journeys; psutil gives memory and CPU per process; a plain JetStream
publish/consume on the same server gives the yardstick that makes the figure comparable across noisy runs.
"""

from __future__ import annotations

import asyncio
import csv
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from benchmarks._pipeline_floor import Floor, measure_floor
from benchmarks._pipeline_ledger import POSTGRES_SETTINGS, Snapshot, SyscallCounter, snapshot
from benchmarks._pipeline_measure import Journeys, RawRates, journeys, raw_jetstream, read_stamped
from benchmarks._pipeline_procs import Sampler, Usage
from benchmarks._pipeline_report import render
from coldstream.campaign_file import load_campaign
from coldstream.funnel import Funnel, watch
from coldstream.publishing import campaign_started, publish
from coldstream.runtime.stack import EmbeddedStack
from coldstream_shared.campaign import CampaignSpec

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
LEADS_ENV, TIMEOUT_ENV = "COLDSTREAM_BENCH_LEADS", "COLDSTREAM_BENCH_TIMEOUT"
# "0": no per-lead ledger (pg_stat_statements, perf) and no floor, to see what the counting itself costs.
LEDGER_ENV = "COLDSTREAM_BENCH_LEDGER"
# "1": count syscalls per process with perf during the campaign (fsyncs, round trips); it inflates every CPU figure.
SYSCALLS_ENV = "COLDSTREAM_BENCH_SYSCALLS"
CAMPAIGN_ID = "bench-pipeline"
# Keys that would switch a service from its offline default to a real API; the benchmark measures our code only.
ONLINE_KEYS = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "INSTANTLY_API_KEY")


@dataclass
class PipelineRun:
    """Everything one run measured; fields stay None when the run did not get that far."""

    leads: int
    timeout: float
    startup_s: float | None = None
    campaign_s: float | None = None
    total_s: float | None = None
    complete: bool = False
    problems: list[str] = field(default_factory=list)
    funnel: dict[str, Any] = field(default_factory=dict)
    raw: RawRates | None = None
    usage: Usage | None = None
    journeys: Journeys | None = None
    services: tuple[str, ...] = ()
    load_average: float | None = None  # 1-minute, at the end of the campaign: how shared the machine was
    floor: Floor | None = None  # CPU and fsyncs of the bare operations (plain clients, no code of ours)
    ledger: Snapshot | None = None  # what the servers counted during the campaign
    syscalls: dict[str, Any] = field(default_factory=dict)  # process -> syscall -> count (perf)
    syscall_problem: str | None = None
    data_dir: Path | None = None


def write_campaign(folder: Path, leads: int, campaign_id: str = CAMPAIGN_ID) -> Path:
    """The example campaign with `leads` distinct people at distinct companies (so no dedup merges them)."""
    with (folder / "leads.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["First Name", "Last Name", "Email", "Company", "Job Title"])
        for i in range(leads):
            writer.writerow([f"Person{i}", "Tester", f"person{i}@company{i}.io", f"Company {i}", "CMO"])
    text = (ROOT / "examples" / "campaign.yaml").read_text()
    (folder / "campaign.yaml").write_text(text.replace("id: spring-growth-demo", f"id: {campaign_id}"))
    return folder / "campaign.yaml"


async def _campaign(nats_url: str, spec: CampaignSpec, funnel: Funnel, within: float) -> bool:
    await publish(nats_url, campaign_started(spec, started_by="benchmarks.pipeline"))
    return await watch(nats_url, funnel, within=within)


def _attempt(result: PipelineRun, what: str, work: Coroutine[Any, Any, T]) -> T | None:
    """Run one measurement; a failure is noted in the report instead of losing what the others measured."""
    try:
        return asyncio.run(work)
    except Exception as exc:
        result.problems.append(f"{what} failed: {type(exc).__name__}: {exc}")
        return None


def measure(leads: int, timeout: float, folder: Path) -> PipelineRun:
    """Run the stack under `folder`, measure, stop it; a failure after start-up is recorded, not raised."""
    result = PipelineRun(leads, timeout, data_dir=folder / "data")
    spec = load_campaign(write_campaign(folder, leads))
    counted = os.environ.get(LEDGER_ENV, "1") != "0"
    began = time.monotonic()
    with (folder / "services.log").open("a", encoding="utf-8") as log:
        stack = EmbeddedStack(
            data_dir=folder / "data",
            nats_port=0,
            postgres_port=0,
            replies_port=0,
            output=log,
            ready_timeout=120,
            postgres_settings=POSTGRES_SETTINGS if counted else {},
        )
        try:
            stack.start_sync()
            result.startup_s = time.monotonic() - began
            result.services = tuple(stack.services)
            # Before the campaign, so the yardstick does not compete with the pipeline for the disk.
            result.raw = _attempt(result, "raw JetStream", raw_jetstream(stack.nats_url, leads))
            pids = {name: stack.supervisor[name].pid for name in stack.services}
            pids |= {"nats-server": stack.nats.pid, "postgres": stack.postgres.pid}
            live = {name: pid for name, pid in pids.items() if pid is not None}
            dsn = stack.postgres.libpq_dsn
            if counted and stack.nats.pid and stack.postgres.pid:
                floor = measure_floor(stack.nats_url, stack.nats.pid, dsn, stack.postgres.pid, min(leads, 2000))
                result.floor = _attempt(result, "the floor", floor)
            sampler = Sampler(live, proportional=["postgres"])
            syscalls_counted = counted and os.environ.get(SYSCALLS_ENV) == "1"
            counters = live | {Sampler.HARNESS: os.getpid()} if syscalls_counted else {}
            syscalls = SyscallCounter(counters, alone=frozenset({Sampler.HARNESS}))
            funnel = Funnel(spec.id)
            before = _attempt(result, "the ledger (before)", snapshot(stack.nats_url, dsn)) if counted else None
            syscalls.start()
            time.sleep(0.3)  # perf attaches asynchronously
            sampler.start()
            campaign_began = time.monotonic()
            try:
                result.complete = bool(_attempt(result, "campaign", _campaign(stack.nats_url, spec, funnel, timeout)))
            finally:
                result.campaign_s = time.monotonic() - campaign_began
                result.total_s = time.monotonic() - began
                result.usage = sampler.stop()  # before stop: CPU of processes still alive
                syscalls.stop()
                result.load_average = os.getloadavg()[0]
            after = _attempt(result, "the ledger (after)", snapshot(stack.nats_url, dsn)) if counted else None
            result.ledger = None if before is None or after is None else after.minus(before)
            result.syscalls, result.syscall_problem = syscalls.counts, syscalls.problem
            result.funnel = funnel.as_dict()
            stamped = _attempt(result, "reading the streams", read_stamped(stack.nats_url, spec.id))
            result.journeys = None if stamped is None else journeys(stamped)
        finally:
            stack.stop_sync()
    return result


def run() -> str:
    leads = int(os.environ.get(LEADS_ENV, "2000"))
    timeout = float(os.environ.get(TIMEOUT_ENV, str(120 + leads * 0.25)))
    for key in ONLINE_KEYS:
        os.environ.pop(key, None)  # the services inherit our environment
    folder = Path(tempfile.mkdtemp(prefix="coldstream-bench-pipeline-"))
    result = measure(leads, timeout, folder)
    if result.complete:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        print(f"pipeline benchmark incomplete; data and services.log kept in {folder}", file=sys.stderr)
    return render(result)
