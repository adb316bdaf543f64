"""`coldstream campaign pause|resume <id>`: stop or restart sending for a campaign (events, so it is audited).

The sending service applies them: nothing is reserved or uploaded while paused, and the Instantly campaign is
paused or activated too. Resuming also lifts a pause a bounce-rate alert put on the campaign.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from coldstream import endpoints
from coldstream.publishing import publish
from coldstream_shared.events import CampaignArchived, CampaignPaused, CampaignResumed

console = Console()
NatsOption = Annotated[str | None, typer.Option(help="NATS URL (default: env, then the stack's).")]
DataDir = Annotated[Path, typer.Option(envvar="COLDSTREAM_DATA_DIR")]


def paused(campaign_id: str, reason: str, by: str) -> CampaignPaused:
    """A pause event; each command is a new fact (a campaign may be paused and resumed many times)."""
    return CampaignPaused.originate(
        producer="cli",
        key=(campaign_id, "pause", uuid.uuid4().hex),
        campaign_id=campaign_id,
        reason=reason,
        paused_by=by,
        correlation_id=campaign_id,
        team_id=os.environ.get("COLDSTREAM_TEAM_ID", "default"),
    )


def resumed(campaign_id: str, by: str) -> CampaignResumed:
    """A resume event."""
    return CampaignResumed.originate(
        producer="cli",
        key=(campaign_id, "resume", uuid.uuid4().hex),
        campaign_id=campaign_id,
        resumed_by=by,
        correlation_id=campaign_id,
        team_id=os.environ.get("COLDSTREAM_TEAM_ID", "default"),
    )


def archived(campaign_id: str, by: str) -> CampaignArchived:
    """An archive event; archiving twice is the same fact."""
    return CampaignArchived.originate(
        producer="cli",
        key=(campaign_id, "archive"),
        campaign_id=campaign_id,
        archived_by=by,
        correlation_id=campaign_id,
        team_id=os.environ.get("COLDSTREAM_TEAM_ID", "default"),
    )


def register(app: typer.Typer, campaign_app: typer.Typer) -> None:
    @campaign_app.command("archive")
    def archive(
        campaign_id: str,
        by: Annotated[str | None, typer.Option(help="Who (default: your user name).")] = None,
        nats_url: NatsOption = None,
        data_dir: DataDir = Path(".data"),
    ) -> None:
        """File a campaign away: sending stops for good (a pause) and `campaign list` hides it (`--all` shows it).

        Example: coldstream campaign archive spring-outreach
        """
        who = by or getpass.getuser()
        url = endpoints.nats_url(nats_url, data_dir)

        async def go() -> None:
            # The pause first: if the archive event were lost, the campaign would at least not send.
            await publish(url, paused(campaign_id, "archived", who))
            await publish(url, archived(campaign_id, who))

        asyncio.run(go())
        console.print(f"campaign [bold]{campaign_id}[/bold] archived by {who}")

    @campaign_app.command("pause")
    def pause(
        campaign_id: str,
        reason: Annotated[str, typer.Option(help="Why (shown with the campaign).")] = "paused by an operator",
        by: Annotated[str | None, typer.Option(help="Who (default: your user name).")] = None,
        nats_url: NatsOption = None,
        data_dir: DataDir = Path(".data"),
    ) -> None:
        """Stop sending for a campaign, here and at Instantly.

        Example: coldstream campaign pause spring-outreach --reason "copy review"
        """
        event = paused(campaign_id, reason, by or getpass.getuser())
        asyncio.run(publish(endpoints.nats_url(nats_url, data_dir), event))
        console.print(f"campaign [bold]{campaign_id}[/bold] pause requested by {event.paused_by}")

    @campaign_app.command("resume")
    def resume(
        campaign_id: str,
        by: Annotated[str | None, typer.Option(help="Who (default: your user name).")] = None,
        nats_url: NatsOption = None,
        data_dir: DataDir = Path(".data"),
    ) -> None:
        """Let a paused campaign send again (also lifts a bounce-rate alert's pause).

        Example: coldstream campaign resume spring-outreach
        """
        event = resumed(campaign_id, by or getpass.getuser())
        asyncio.run(publish(endpoints.nats_url(nats_url, data_dir), event))
        console.print(f"campaign [bold]{campaign_id}[/bold] resume requested by {event.resumed_by}")
