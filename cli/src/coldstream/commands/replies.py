"""`coldstream replies list|override`: see recent replies and correct a classification by hand.

(`coldstream reply EMAIL TEXT` is a different command: it posts a webhook as a prospect would.)
"""

from __future__ import annotations

import asyncio
import getpass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, get_args

import typer
from rich.console import Console
from rich.table import Table

from coldstream import endpoints
from coldstream_shared.events import ReplyCategory

console = Console()
err = Console(stderr=True)
Category = StrEnum("Category", {name: name for name in get_args(ReplyCategory)})  # type: ignore[misc]
DatabaseUrl = Annotated[str | None, typer.Option(help="Database URL (default: env, then the stack's).")]
DataDir = Annotated[Path, typer.Option(envvar="COLDSTREAM_DATA_DIR")]


def register(app: typer.Typer, campaign_app: typer.Typer) -> None:
    replies_app = typer.Typer(help="Inspect replies and override their classification.", no_args_is_help=True)
    app.add_typer(replies_app, name="replies")

    @replies_app.command("list")
    def list_(
        campaign: Annotated[str | None, typer.Option(help="Only this campaign.")] = None,
        category: Annotated[Category | None, typer.Option(help="Only this category.")] = None,
        limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
        database_url: DatabaseUrl = None,
        data_dir: DataDir = Path(".data"),
    ) -> None:
        """The newest replies with their classification (ids for `coldstream replies override`)."""
        from replies.admin import list_replies

        url = endpoints.database_url(database_url, data_dir)
        found = asyncio.run(
            list_replies(url, campaign_id=campaign, category=category.value if category else None, limit=limit)
        )
        table = Table()
        table.add_column("id", no_wrap=True)  # what `override` takes: never wrapped
        for name in ("received", "from", "campaign", "category", "conf.", "by", "key phrase"):
            table.add_column(name)
        for row in found:
            table.add_row(
                str(row.reply_id)[:8],
                f"{row.received_at:%Y-%m-%d %H:%M}",
                row.email,
                row.campaign_id or "-",
                row.category or row.status,
                f"{row.confidence:.2f}" if row.confidence is not None else "-",
                row.classifier or "-",
                (row.key_phrase or "")[:40],
            )
        console.print(table)

    @replies_app.command("override")
    def override(
        reply_id: Annotated[str, typer.Argument(help="The reply id, or its first 8+ characters.")],
        category: Annotated[Category, typer.Argument(help="The correct category.")],
        by: Annotated[str | None, typer.Option(help="Who decides (default: your user name).")] = None,
        note: Annotated[str | None, typer.Option(help="Why, for the audit trail.")] = None,
        return_date: Annotated[str | None, typer.Option(help="Return/recontact date (YYYY-MM-DD).")] = None,
        referral_email: Annotated[str | None, typer.Option(help="The contact a referral names.")] = None,
        database_url: DatabaseUrl = None,
        nats_url: Annotated[str | None, typer.Option(help="NATS URL (default: env, then the stack's).")] = None,
        data_dir: DataDir = Path(".data"),
    ) -> None:
        """Correct a reply's classification; republishes reply.classified as 'manual:<you>' with its actions.

        Example: coldstream replies override 3f2a9c1e interested --note "asked for pricing on a call"
        """
        from replies.admin import override_reply
        from replies.override import Override, OverrideError

        try:
            when = date.fromisoformat(return_date) if return_date else None
        except ValueError:
            err.print(f"--return-date must be YYYY-MM-DD, not {return_date!r}")
            raise typer.Exit(2) from None
        wanted = Override(reply_id, category.value, by or getpass.getuser(), note, when, referral_email)
        try:
            event, published = asyncio.run(
                override_reply(
                    wanted, endpoints.database_url(database_url, data_dir), endpoints.nats_url(nats_url, data_dir)
                )
            )
        except OverrideError as error:
            err.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from None
        later = "" if published else " (NATS unreachable: the replies service will publish it)"
        console.print(f"reply {reply_id} is now [bold]{event.category}[/bold] by {event.classifier}{later}")
