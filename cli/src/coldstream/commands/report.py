"""`coldstream campaign report <id>`: the funnel, replies, rates per step/variant/prompt and cost; terminal or HTML."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from coldstream import endpoints
from coldstream.campaign_costs import campaign_costs
from coldstream.campaign_report import campaign_report
from coldstream.report import funnel_table
from coldstream.report_html import render

console = Console()


def _rates_table(report: dict[str, Any]) -> Table:
    table = Table("measure", "value", title="replies and deliverability")
    for name in ("reply_rate", "positive_rate", "bounce_rate", "unsubscribe_rate"):
        r = report[name]
        table.add_row(name.replace("_", " "), f"{r['rate']:.1%} ({r['hits']}/{r['base']})")
    for step, r in report["reply_rate_by_step"].items():
        table.add_row(f"reply rate, step {step}", f"{r['rate']:.1%} ({r['hits']}/{r['base']})")
    for category, n in report["reply_categories"].items():
        table.add_row(f"replies: {category}", str(n))
    for name, group in (("variant", report["by_variant"]), ("prompt", report["by_prompt_version"])):
        for key, g in group.items():
            table.add_row(f"{name} {key}", f"{g['positive_rate']:.1%} positive of {g['contacted']} contacted")
    if not report.get("costs_known", True):
        table.add_row("cost", "unknown (the cost logs in the database could not be read)")
        return table
    for name, usd in report["cost_usd"].items():
        table.add_row(f"cost: {name}", f"${usd:.4f}")
    table.add_row("cost per lead", f"${report['cost_per_lead_usd']:.4f}")
    return table


def register(app: typer.Typer, campaign_app: typer.Typer) -> None:
    @campaign_app.command("report")
    def report(
        campaign_id: str,
        html: Annotated[Path | None, typer.Option(help="Also write the report as an HTML page here.")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        nats_url: Annotated[str | None, typer.Option(help="NATS URL (default: env, then the stack's).")] = None,
        database_url: Annotated[str | None, typer.Option(help="Database URL, for the cost logs.")] = None,
        data_dir: Annotated[Path, typer.Option(envvar="COLDSTREAM_DATA_DIR")] = Path(".data"),
    ) -> None:
        """Funnel, reply categories, bounce/unsubscribe rates, reply rate per step, variant and prompt version.

        Example: coldstream campaign report spring-outreach --html report.html
        """
        costs = asyncio.run(campaign_costs(endpoints.database_url(database_url, data_dir), campaign_id))
        data = asyncio.run(campaign_report(endpoints.nats_url(nats_url, data_dir), campaign_id, costs=costs))
        data["costs_known"] = costs is not None
        if html is not None:
            html.write_text(render(data), encoding="utf-8")
        if as_json:
            print(json.dumps(data, sort_keys=True))  # noqa: T201 - the command's output
            return
        console.print(funnel_table(data["funnel"]))
        console.print(_rates_table(data))
        if html is not None:
            console.print(f"wrote {html}")
