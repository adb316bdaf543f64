"""`coldstream campaign approve <id> --stage leads|sending`: release a human gate (an event, so it is audited)."""

from __future__ import annotations

import asyncio
import getpass
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from coldstream import endpoints
from coldstream.publishing import publish
from coldstream_shared.events import CampaignApproved

console = Console()


class Stage(StrEnum):
    leads = "leads"
    sending = "sending"


def approval(campaign_id: str, stage: str, approved_by: str) -> CampaignApproved:
    """The approval event; approving the same stage twice is the same event."""
    return CampaignApproved.originate(
        producer="cli",
        key=(campaign_id, stage),
        campaign_id=campaign_id,
        stage=stage,
        approved_by=approved_by,
        correlation_id=campaign_id,
        team_id=os.environ.get("COLDSTREAM_TEAM_ID", "default"),
    )


def register(app: typer.Typer, campaign_app: typer.Typer) -> None:
    @campaign_app.command("approve")
    def approve(
        campaign_id: str,
        stage: Annotated[Stage, typer.Option(help="Which gate: 'leads' (discovery) or 'sending' (personalization).")],
        by: Annotated[str | None, typer.Option(help="Who approves (default: your user name).")] = None,
        nats_url: Annotated[str | None, typer.Option(help="NATS URL (default: env, then the stack's).")] = None,
        data_dir: Annotated[Path, typer.Option(envvar="COLDSTREAM_DATA_DIR")] = Path(".data"),
    ) -> None:
        """Release a campaign's manual approval gate.

        Example: coldstream campaign approve spring-outreach --stage leads
        """
        event = approval(campaign_id, stage.value, by or getpass.getuser())
        fresh = asyncio.run(publish(endpoints.nats_url(nats_url, data_dir), event))
        state = "approved" if fresh else "was already approved"
        console.print(f"campaign [bold]{campaign_id}[/bold] {state} for stage {stage.value} by {event.approved_by}")
