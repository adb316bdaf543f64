"""`coldstream chaos`: a campaign under SIGKILLs, a nats-server restart and webhooks; exit 1 if a promise broke."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from coldstream.runtime.stack import SERVICES


def register(app: typer.Typer, campaign_app: typer.Typer) -> None:
    @app.command()
    def chaos(
        leads: Annotated[int, typer.Option(min=10, help="Rows in the campaign's CSV.")] = 5000,
        seed: Annotated[int, typer.Option(help="Seeds the leads, the faults and the webhooks.")] = 1,
        within: Annotated[float, typer.Option(help="Seconds the whole run may take (then it fails).")] = 1800.0,
        kills: Annotated[
            int | None, typer.Option(help="Service SIGKILLs (default: each service once per 1,000 leads).")
        ] = None,
        nats_restarts: Annotated[int, typer.Option(help="nats-server SIGKILLs and restarts.")] = 1,
        target: Annotated[
            list[str] | None, typer.Option(help=f"A service the run may kill (repeat; default all: {SERVICES}).")
        ] = None,
        data_dir: Annotated[Path, typer.Option(help="Folder for the run (emptied first).")] = Path(".data/chaos"),
        as_json: Annotated[bool, typer.Option("--json", help="Print the verdicts as one JSON object.")] = False,
    ) -> None:
        """Run a campaign on the embedded stack (fake Instantly and Anthropic) while services are SIGKILLed and
        restarted, nats-server restarts once and webhooks arrive (some twice); then check that every lead is
        terminal, nothing was sent twice or after its suppression, every dead letter has a cause and the totals
        add up. Exit code 1 on any violation.

        Example: coldstream chaos --leads 1000 --seed 7
        """
        from coldstream.chaos.run import ChaosOptions, print_summary, run_chaos

        unknown = set(target or ()) - set(SERVICES)
        if unknown:
            raise typer.BadParameter(f"not a service: {', '.join(sorted(unknown))}", param_hint="--target")
        console = Console(stderr=as_json)
        options = ChaosOptions(
            data_dir=data_dir,
            leads=leads,
            seed=seed,
            within=within,
            kills=kills,
            nats_restarts=nats_restarts,
            targets=tuple(target or SERVICES),
        )
        result = run_chaos(options, console)
        print_summary(result, console)
        if as_json:
            verdicts = [
                {"name": v.name, "ok": v.ok, "figure": v.figure, "problems": v.problems, "notes": v.notes}
                for v in result.verdicts
            ]
            print(json.dumps({"ok": result.ok, "funnel": result.evidence.funnel, "verdicts": verdicts}))  # noqa: T201
        raise typer.Exit(0 if result.ok else 1)
