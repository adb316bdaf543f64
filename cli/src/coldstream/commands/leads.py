"""`coldstream leads show <email>`: one person's history across every service, and where to see the trace."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from coldstream import endpoints
from coldstream.lead_history import lead_history

console = Console()


def register(app: typer.Typer, campaign_app: typer.Typer) -> None:
    leads = typer.Typer(help="Look up leads.", no_args_is_help=True)
    app.add_typer(leads, name="leads")

    @leads.command("show")
    def show(
        email: str,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        jaeger_url: Annotated[str, typer.Option(envvar="COLDSTREAM_JAEGER_URL")] = "http://localhost:16686",
        nats_url: Annotated[str | None, typer.Option(help="NATS URL (default: env, then the stack's).")] = None,
        data_dir: Annotated[Path, typer.Option(envvar="COLDSTREAM_DATA_DIR")] = Path(".data"),
    ) -> None:
        """Everything that happened to one address, in time order, with its trace ids.

        Exit code 1 when the address appears in no event.

        Example: coldstream leads show jane@acme.io
        """
        history = asyncio.run(lead_history(endpoints.nats_url(nats_url, data_dir), email))
        if as_json:
            print(json.dumps(history.as_dict(), default=str))  # noqa: T201 - the command's output
        else:
            table = Table("when", "campaign", "what", "details", title=f"history of {history.email}")
            for entry in history.entries:
                details = ", ".join(f"{k}={v}" for k, v in entry.details.items())
                table.add_row(entry.at[:19].replace("T", " "), entry.campaign_id or "", entry.what, details)
            console.print(table)
            for lead_id, trace_id in sorted(history.trace_ids.items()):
                console.print(f"lead {lead_id}: trace {trace_id}  {jaeger_url.rstrip('/')}/trace/{trace_id}")
        if not history.entries:
            raise typer.Exit(1)
