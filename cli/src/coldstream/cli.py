"""`coldstream`: the operator's entry point."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from coldstream import endpoints
from coldstream.campaign_file import CampaignFileError, json_schema, load_campaign

app = typer.Typer(help="Coldstream: cold-email campaigns as a pipeline of five services.", no_args_is_help=True)
campaign_app = typer.Typer(help="Validate and start campaigns.", no_args_is_help=True)
app.add_typer(campaign_app, name="campaign")
console = Console()
err = Console(stderr=True)

DataDir = Annotated[Path, typer.Option(help="Folder for the embedded stack's data.", envvar="COLDSTREAM_DATA_DIR")]
NatsUrl = Annotated[str | None, typer.Option(help="NATS URL (default: env, then the embedded stack's).")]


@app.command()
def up(
    data_dir: DataDir = Path(".data"),
    nats_port: Annotated[int, typer.Option(envvar="COLDSTREAM_NATS_PORT")] = 4222,
    postgres_port: Annotated[int, typer.Option(envvar="COLDSTREAM_POSTGRES_PORT")] = 54329,
    replies_port: Annotated[int, typer.Option(envvar="COLDSTREAM_REPLIES_PORT")] = 8080,
) -> None:
    """Start NATS, PostgreSQL and the five services locally; Ctrl-C stops everything."""
    from coldstream.runtime.stack import EmbeddedStack, run_until_signal

    stack = EmbeddedStack(
        data_dir=data_dir.resolve(),
        nats_port=nats_port,
        postgres_port=postgres_port,
        replies_port=replies_port,
    )
    raise typer.Exit(run_until_signal(stack))


@app.command()
def demo(
    data_dir: DataDir = Path(".data/demo"),
    campaign_file: Annotated[Path, typer.Option("--campaign", help="Campaign file to run.")] = Path(
        "examples/campaign.yaml"
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the funnel as one JSON object.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every lead.")] = 150.0,
) -> None:
    """Bring the stack up on free ports, run the sample campaign to the end, print the funnel, stop."""
    from coldstream.demo import run_demo

    try:
        spec = load_campaign(campaign_file)
    except CampaignFileError as error:
        err.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(2) from error
    result = run_demo(spec, data_dir.resolve(), timeout=timeout, quiet=as_json)
    if as_json:
        print(json.dumps(result, sort_keys=True))  # noqa: T201 - the command's output
    raise typer.Exit(0 if result["complete"] else 1)


@app.command()
def migrate(database_url: Annotated[str | None, typer.Option(help="Database URL.")] = None) -> None:
    """Apply every service's migrations (each schema has its own version table)."""
    from coldstream.migrate import migrate_all

    migrate_all(endpoints.database_url(database_url))
    console.print("migrated: discovery, enrichment, personalization, sending, replies")


@campaign_app.command("validate")
def campaign_validate(file: Path) -> None:
    """Check a campaign file; errors name the field."""
    try:
        spec = load_campaign(file)
    except CampaignFileError as error:
        err.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(2) from error
    console.print(f"[green]ok[/green] {spec.id}: {len(spec.sources)} source(s), {len(spec.sequence.steps)} step(s)")


@campaign_app.command("schema")
def campaign_schema() -> None:
    """Print the campaign file's JSON Schema."""
    print(json_schema(), end="")  # noqa: T201 - the command's output


@campaign_app.command("start")
def campaign_start(file: Path, nats_url: NatsUrl = None, data_dir: DataDir = Path(".data")) -> None:
    """Validate a campaign file and publish `campaign.started` to a running stack."""
    from coldstream.publishing import campaign_started, publish

    try:
        spec = load_campaign(file)
    except CampaignFileError as error:
        err.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(2) from error
    event = campaign_started(spec, team_id=os.environ.get("COLDSTREAM_TEAM_ID", "default"))
    fresh = asyncio.run(publish(endpoints.nats_url(nats_url, data_dir), event))
    state = "started" if fresh else "already started (same definition): nothing to do"
    console.print(f"campaign [bold]{spec.id}[/bold] {state} (event {event.event_id})")


@campaign_app.command("funnel")
def campaign_funnel(
    campaign_id: str,
    nats_url: NatsUrl = None,
    data_dir: DataDir = Path(".data"),
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Count a campaign's events per stage (from the streams)."""
    from coldstream.funnel import Funnel, watch
    from coldstream.report import funnel_table

    funnel = Funnel(campaign_id)
    asyncio.run(watch(endpoints.nats_url(nats_url, data_dir), funnel, within=1.5))
    if as_json:
        print(json.dumps(funnel.as_dict(), sort_keys=True))  # noqa: T201
    else:
        console.print(funnel_table(funnel.as_dict()))


@app.command()
def reply(
    email: str,
    text: str,
    campaign_id: Annotated[str | None, typer.Option(help="Our campaign id.")] = None,
    event_type: Annotated[str, typer.Option(help="Instantly event type.")] = "reply_received",
    replies: Annotated[str | None, typer.Option(help="Replies service URL.")] = None,
    data_dir: DataDir = Path(".data"),
) -> None:
    """Answer as a prospect: post a webhook to the replies service exactly as Instantly would."""
    from coldstream.webhooks import post_instantly_event

    status, body = post_instantly_event(
        endpoints.replies_url(replies, data_dir), event_type, email, text, campaign_id=campaign_id
    )
    console.print(f"{status} {body}")
    raise typer.Exit(0 if status < 300 else 1)


@app.command()
def asyncapi(
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("docs/asyncapi"),
) -> None:
    """Regenerate the AsyncAPI documents (the published event contract) from the code."""
    from coldstream.asyncapi import write_all

    for path in write_all(out):
        console.print(f"wrote {path}")


def _register_command_modules() -> None:
    from coldstream.commands import register_all

    register_all(app, campaign_app)


_register_command_modules()
