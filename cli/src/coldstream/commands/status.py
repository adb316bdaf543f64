"""`coldstream campaign status <id>`: live progress bars per stage, with rates and ETA; `--json` for scripts."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from coldstream import endpoints
from coldstream.campaign_status import CampaignStatus
from coldstream.stream_scan import follow, read_to_end

console = Console()


def _describe(name: str, stage: dict[str, object]) -> str:
    eta = stage["eta_seconds"]
    eta_text = f"ETA {float(eta):.0f}s" if isinstance(eta, int | float) else ""
    return f"{name:<10} {stage['per_second']:>7}/s {eta_text}"


async def _live(nats_url: str, status: CampaignStatus, refresh: float, until_idle: bool) -> None:
    stop = asyncio.Event()
    reader = asyncio.create_task(follow(nats_url, status.visit, stop))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        tasks: dict[str, TaskID] = {name: progress.add_task(name, total=None) for name in status.stages}
        try:
            while not reader.done():
                snap = status.snapshot()
                for name, stage in snap["stages"].items():
                    progress.update(
                        tasks[name], completed=stage["done"], total=stage["total"], description=_describe(name, stage)
                    )
                if until_idle and _finished(snap):
                    break
                await asyncio.sleep(refresh)  # a display refresh, not a wait for work
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await reader


def _finished(snapshot: dict[str, object]) -> bool:
    stages = snapshot["stages"]
    assert isinstance(stages, dict)
    sent = stages["sent"]
    return bool(snapshot["import_done"]) and sent["total"] is not None and sent["done"] >= sent["total"]


def register(app: typer.Typer, campaign_app: typer.Typer) -> None:
    @campaign_app.command("status")
    def status(
        campaign_id: str,
        as_json: Annotated[bool, typer.Option("--json", help="Print one snapshot as JSON and exit.")] = False,
        until_done: Annotated[bool, typer.Option(help="Exit when every lead got its first touch.")] = True,
        refresh: Annotated[float, typer.Option(help="Seconds between screen refreshes.")] = 0.5,
        nats_url: Annotated[str | None, typer.Option(help="NATS URL (default: env, then the stack's).")] = None,
        data_dir: Annotated[Path, typer.Option(envvar="COLDSTREAM_DATA_DIR")] = Path(".data"),
    ) -> None:
        """Live progress per stage (imported, verified, generated, sent, replied) with rates and ETA.

        Ctrl-C leaves the live view (the campaign keeps running).

        Example: coldstream campaign status spring-outreach
        """
        url = endpoints.nats_url(nats_url, data_dir)
        board = CampaignStatus(campaign_id)
        if as_json:
            asyncio.run(read_to_end(url, board.visit))
            print(json.dumps(board.snapshot(), sort_keys=True))  # noqa: T201 - the command's output
            return
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_live(url, board, refresh, until_done))
