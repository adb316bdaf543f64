"""Rendering funnels for people."""

from __future__ import annotations

from typing import Any

from rich.table import Table

ROWS = [
    ("rows read", "rows_read"),
    ("leads accepted (lead.scraped)", "scraped"),
    ("  rejected in discovery", "rejected_discovery"),
    ("verified (lead.verified)", "verified"),
    ("  rejected in enrichment", "rejected_enrichment"),
    ("written (email.generated)", "generated"),
    ("  held for review (quality gate, budget)", "held"),
    ("  rejected in personalization", "rejected_personalization"),
    ("sent (email.sent)", "sent"),
    ("  suppressed", "suppressed"),
    ("  failed", "failed"),
    ("dead-lettered", "dead_lettered"),
]


def funnel_table(funnel: dict[str, Any]) -> Table:
    """The funnel as a rich table."""
    table = Table(title=f"campaign {funnel['campaign_id']}")
    table.add_column("stage")
    table.add_column("count", justify="right")
    for label, key in ROWS:
        value = funnel.get(key)
        table.add_row(label, "-" if value is None else str(value))
    done = f"{funnel['leads_terminal']}/{funnel['leads']}"
    table.add_row("[bold]leads in a terminal state[/bold]", f"[bold]{done}[/bold]")
    return table
