"""Orchestration of a chaos run: fakes up, stack up, campaign started; faults, webhooks and the stream tail run
side by side until every lead is terminal (or time is up); then the run settles, the evidence is read and judged.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from coldstream.campaign_file import load_campaign
from coldstream.chaos.campaign import ChaosCampaign, write_campaign
from coldstream.chaos.checks import Verdict, judge
from coldstream.chaos.evidence import Evidence, read_database
from coldstream.chaos.faults import FaultInjector
from coldstream.chaos.observe import Events, Tail
from coldstream.chaos.plan import Plan, make_plan
from coldstream.chaos.providers import API_KEY, MODEL_KEY, InstantlyWorkspace, model
from coldstream.chaos.webhooks import SECRET, WebhookPoster
from coldstream.funnel import Funnel
from coldstream.publishing import campaign_started, publish
from coldstream.report import funnel_table
from coldstream.runtime.postgres import FAST_TEST_SETTINGS
from coldstream.runtime.stack import SERVICES, EmbeddedStack
from coldstream_shared.campaign import CampaignSpec
from sending.instantly.payloads import instantly_name

SETTLE_SECONDS = 90.0  # after the last lead: long enough for the block-list mirror (every 10 s) and late events


@dataclass
class ChaosOptions:
    """What to run: `kills` defaults to one SIGKILL per service for every 1,000 leads (at least one each)."""

    data_dir: Path
    leads: int = 5000
    seed: int = 1
    within: float = 1800.0
    kills: int | None = None
    nats_restarts: int = 1
    targets: tuple[str, ...] = SERVICES  # services the run may kill

    def kill_count(self) -> int:
        return self.kills if self.kills is not None else len(self.targets) * max(1, round(self.leads / 1000))


@dataclass
class ChaosResult:
    evidence: Evidence
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts)


def run_chaos(options: ChaosOptions, console: Console | None = None) -> ChaosResult:
    """Run one chaos campaign in a fresh folder and judge it (blocking)."""
    return asyncio.run(_run(options, console or Console(stderr=True)))


async def _run(options: ChaosOptions, console: Console) -> ChaosResult:
    # A service SIGKILLed mid-request leaves the fakes a ClientDisconnect traceback each time: expected here.
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
    started = time.monotonic()
    data_dir = options.data_dir.resolve()
    await asyncio.to_thread(shutil.rmtree, data_dir, True)
    campaign = write_campaign(data_dir / "campaign", options.leads, options.seed)
    plan = make_plan(
        options.seed, kills=options.kill_count(), nats_restarts=options.nats_restarts, services=options.targets
    )
    console.print(
        f"chaos: {campaign.rows} rows, seed {options.seed}, {len(plan.faults)} faults, "
        f"at most {options.within:.0f}s; service logs in {data_dir / 'services.log'}"
    )
    with (data_dir / "services.log").open("a", encoding="utf-8") as log:
        async with InstantlyWorkspace() as workspace, model() as anthropic:
            stack = EmbeddedStack(
                data_dir=data_dir / "stack",
                nats_port=0,
                postgres_port=0,
                replies_port=0,
                output=log,
                # Commit timestamps date each suppression exactly; durability settings are off because only the
                # services and nats-server are killed, never Postgres.
                postgres_settings={**FAST_TEST_SETTINGS, "track_commit_timestamp": "on"},
                extra_env={
                    "INSTANTLY_API_KEY": API_KEY,
                    "COLDSTREAM_INSTANTLY_BASE_URL": workspace.base_url,
                    "ANTHROPIC_API_KEY": MODEL_KEY,
                    "ANTHROPIC_BASE_URL": anthropic.base_url,
                    # The default 50 requests/minute (a cautious account) would make personalization the whole run.
                    "COLDSTREAM_LLM_REQUESTS_PER_MINUTE": "3000",
                    "COLDSTREAM_WEBHOOK_SECRET": SECRET,
                    "COLDSTREAM_PHYSICAL_ADDRESS": "1 Chaos Street, Testville",
                },
            )
            await stack.start()
            try:
                run = ChaosRun(stack, workspace, campaign, plan, started, started + options.within)
                return await run.execute(load_campaign(campaign.path), console)
            finally:
                await stack.stop()


class ChaosRun:
    """One campaign on a running stack, with its faults, webhooks and stream tail."""

    def __init__(
        self,
        stack: EmbeddedStack,
        workspace: InstantlyWorkspace,
        campaign: ChaosCampaign,
        plan: Plan,
        started: float,
        deadline: float,
    ) -> None:
        self.stack, self.workspace, self.campaign = stack, workspace, campaign
        self.started, self.deadline = started, deadline
        self.funnel, self.events = Funnel(campaign.campaign_id), Events()
        self.tail = Tail(stack.nats_url, self.funnel, self.events)
        self.injector = FaultInjector(stack, plan, self.progress, started, workspace.sending)
        self.poster = WebhookPoster(stack.replies_url, plan, campaign.addresses, self.uploaded)

    def progress(self) -> float:
        """How far the campaign is: leads read count a little, leads finished count most."""
        return (0.3 * len(self.funnel.leads) + 0.7 * len(self.funnel.terminal)) / max(self.campaign.rows, 1)

    def uploaded(self) -> dict[str, str]:
        """Address -> Instantly campaign id of every lead Instantly holds."""
        return {o.email: o.campaign for o in list(self.workspace.sending.offers) if o.created}

    async def execute(self, spec: CampaignSpec, console: Console) -> ChaosResult:
        stop, stop_tail = asyncio.Event(), asyncio.Event()
        tasks = [
            asyncio.create_task(self.tail.run(stop_tail)),
            asyncio.create_task(self.injector.run(stop)),
            asyncio.create_task(self.injector.watch(stop)),
            asyncio.create_task(self.poster.run(stop)),
        ]
        try:
            await publish(self.stack.nats_url, campaign_started(spec, started_by="coldstream chaos"))
            await self._until_done(console)
            stop.set()
            return await self._settle()
        finally:
            stop.set()
            stop_tail.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _until_done(self, console: Console) -> None:
        """Every lead terminal, every fault recovered, every webhook in; or the deadline."""
        last_report = 0.0
        while time.monotonic() < self.deadline:
            if self.funnel.complete and self.injector.done:
                self.poster.finish()
                if self.poster.drained:
                    return
            if time.monotonic() - last_report >= 15:
                last_report = time.monotonic()
                f = self.funnel.as_dict()
                fired = sum(r.at_seconds is not None for r in self.injector.records)
                console.print(
                    f"  {last_report - self.started:5.0f}s  terminal {f['leads_terminal']}/{f['leads']}  "
                    f"sent {f['sent']}  faults {fired}/{len(self.injector.records)}  "
                    f"webhooks {len(self.poster.deliveries)}"
                )
                console.file.flush()  # progress lines as they happen, also into a log file
            await asyncio.sleep(0.5)

    async def _settle(self) -> ChaosResult:
        """Judge until every verdict holds or the settling time is over: lag heals, broken promises do not."""
        now = time.monotonic()
        settle_until = min(self.deadline, now + SETTLE_SECONDS) if self.funnel.complete else now
        while True:
            result = ChaosResult(evidence := await self._evidence(), judge(evidence))
            if result.ok or time.monotonic() >= settle_until:
                return result
            await asyncio.sleep(2.0)

    async def _evidence(self) -> Evidence:
        ids, touches, suppressions, notes = await read_database(
            self.stack.database_url, self.campaign.campaign_id, self.events
        )
        return Evidence(
            campaign=self.campaign,
            funnel=self.funnel.as_dict(),
            complete=self.funnel.complete,
            events=self.events,
            offers=list(self.workspace.sending.offers),
            blocklist=set(self.workspace.sending.blocklist),
            instantly_ids=ids,
            instantly_twins=sum(
                c.get("name") == instantly_name(self.campaign.campaign_id)
                for c in list(self.workspace.sending.campaigns.values())
            ),
            touches=touches,
            suppressions=suppressions,
            deliveries=self.poster.deliveries,
            faults=self.injector.records,
            unplanned=self.injector.unplanned,
            seconds=round(time.monotonic() - self.started, 1),
            notes=notes,
        )


def print_summary(result: ChaosResult, console: Console) -> None:
    """The funnel, one row per invariant, then what broke each one and what else is worth knowing."""
    ev = result.evidence
    console.print(funnel_table(ev.funnel))
    table = Table(title=f"chaos run: {ev.campaign.rows} rows in {ev.seconds:.0f}s")
    table.add_column("invariant")
    table.add_column("", justify="center")
    table.add_column("figures")
    for verdict in result.verdicts:
        mark = "[green]ok[/green]" if verdict.ok else "[red]VIOLATED[/red]"
        table.add_row(verdict.name, mark, verdict.figure)
    console.print(table)
    for verdict in result.verdicts:
        if verdict.problems or verdict.notes:
            console.print(f"[bold]{verdict.name}[/bold]")
        for problem in verdict.problems:
            console.print(f"  [red]{escape(problem)}[/red]")
        for note in verdict.notes:
            console.print(f"  {escape(note)}")
    for note in ev.notes:
        console.print(f"note: {escape(note)}")
    console.print("[green]all invariants held[/green]" if result.ok else "[red]invariants violated[/red]")
