"""`coldstream campaign samples <id> [-n 5]`: read generated sequences before approving sending (seed 000)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import create_async_engine

from coldstream import endpoints
from personalization.store import sequences

console = Console()
# Waiting sequences first: they are what a person approves.
_ORDER = case((sequences.c.status == "awaiting_approval", 0), (sequences.c.status == "generated", 1), else_=2)


async def load_samples(database_url: str, campaign_id: str, count: int, held: bool = False) -> list[Any]:
    """Up to `count` sequences of a campaign (the selected variant per lead; held ones when asked)."""
    statuses = ["held"] if held else ["awaiting_approval", "generated"]
    query = (
        select(sequences)
        .where(sequences.c.campaign_id == campaign_id, sequences.c.status.in_(statuses))
        .order_by(_ORDER, sequences.c.created_at, sequences.c.lead_id)
        .limit(count)
    )
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(query)).all())
    finally:
        await engine.dispose()


def render(row: Any) -> Panel:
    """One sequence as a person reads it: every touch, then the score and what the gate said."""
    parts = [
        f"[bold]Step {t['step']}[/bold] (+{t.get('delay_days', 0)} days)  Subject: {t['subject']}\n\n{t['body']}"
        for t in row.touches
    ]
    verdict = f"score {row.quality_score:g}"
    if row.failures:
        verdict += "\n" + "\n".join(f"- {failure}" for failure in row.failures)
    title = (
        f"lead {row.lead_id}  variant {row.variant}  {row.status}  "
        f"{row.writer}:{row.model}  prompt {row.prompt_version}"
        + (f"  {row.framework}/{row.personalization_level}" if row.framework else "")
    )
    return Panel("\n\n".join([*parts, verdict]), title=title, title_align="left")


def register(app: typer.Typer, campaign_app: typer.Typer) -> None:
    @campaign_app.command("samples")
    def samples(
        campaign_id: str,
        n: Annotated[int, typer.Option("-n", "--count", min=1, help="How many sequences to show.")] = 5,
        held: Annotated[bool, typer.Option(help="Show held sequences (and why) instead.")] = False,
        database_url: Annotated[str | None, typer.Option(help="Database URL (default: env, then the stack's).")] = None,
        data_dir: Annotated[Path, typer.Option(envvar="COLDSTREAM_DATA_DIR")] = Path(".data"),
    ) -> None:
        """Show generated sequences of a campaign, e.g. before `coldstream campaign approve <id> --stage sending`.

        Example: coldstream campaign samples spring-outreach -n 3
        """
        rows = asyncio.run(load_samples(endpoints.database_url(database_url, data_dir), campaign_id, n, held))
        if not rows:
            kind = "held" if held else "generated"
            console.print(f"no {kind} sequences for campaign [bold]{campaign_id}[/bold] yet")
            raise typer.Exit(0)
        for row in rows:
            console.print(render(row))
        waiting = sum(1 for row in rows if row.status == "awaiting_approval")
        if waiting:
            console.print(
                f"{waiting} shown sequence(s) await approval: coldstream campaign approve {campaign_id} --stage sending"
            )
