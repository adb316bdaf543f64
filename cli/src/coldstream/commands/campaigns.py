"""`coldstream campaign list`: every campaign with its state."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from coldstream import endpoints
from coldstream.campaign_list import list_campaigns

console = Console()


def register(app: typer.Typer, campaign_app: typer.Typer) -> None:
    @campaign_app.command("list")
    def list_(
        as_json: Annotated[bool, typer.Option("--json")] = False,
        show_all: Annotated[bool, typer.Option("--all", help="Include archived campaigns.")] = False,
        nats_url: Annotated[str | None, typer.Option(help="NATS URL (default: env, then the stack's).")] = None,
        data_dir: Annotated[Path, typer.Option(envvar="COLDSTREAM_DATA_DIR")] = Path(".data"),
    ) -> None:
        """Every campaign: running, imported, paused (and why) or awaiting an approval.

        Example: coldstream campaign list --json
        """
        rows = asyncio.run(list_campaigns(endpoints.nats_url(nats_url, data_dir), include_archived=show_all))
        if as_json:
            print(json.dumps(rows))  # noqa: T201 - the command's output
            return
        table = Table("campaign", "name", "state", "backend", "rows read", "accepted", "alerts", "started")
        for row in rows:
            table.add_row(
                row["campaign_id"],
                row["name"],
                row["state"] + (f" ({row['paused_reason']})" if row["paused_reason"] else ""),
                row["backend"],
                str(row["rows_read"] if row["rows_read"] is not None else "-"),
                str(row["published"] if row["published"] is not None else "-"),
                str(row["alerts"]),
                row["started_at"][:19].replace("T", " "),
            )
        console.print(table if rows else "no campaigns yet: coldstream campaign start <file>")
