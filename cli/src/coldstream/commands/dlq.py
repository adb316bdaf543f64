"""`coldstream dlq list|show|replay|drop`: see why events failed, replay them after a fix, or drop them on record."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from coldstream import endpoints
from coldstream.dead_letter_ops import DeadLetterError, connect, drop, get_letter, list_letters, replay

console = Console()
err = Console(stderr=True)
T = TypeVar("T")

NatsUrl = Annotated[str | None, typer.Option(help="NATS URL (default: env, then the embedded stack's).")]
DataDir = Annotated[Path, typer.Option(envvar="COLDSTREAM_DATA_DIR")]
By = Annotated[str | None, typer.Option(help="Who decides (default: your user name).")]


def _run(nats_url: str | None, data_dir: Path, operation: Callable[[Any], Awaitable[T]]) -> T:
    async def go() -> T:
        nc, js = await connect(endpoints.nats_url(nats_url, data_dir))
        try:
            return await operation(js)
        finally:
            await nc.close()

    try:
        return asyncio.run(go())
    except DeadLetterError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error


def register(app: typer.Typer, campaign_app: typer.Typer) -> None:
    dlq = typer.Typer(help="Dead letters: events a service could not process, with the cause.", no_args_is_help=True)
    app.add_typer(dlq, name="dlq")

    @dlq.command("list")
    def list_(
        service: Annotated[str | None, typer.Option(help="Only this service's letters.")] = None,
        subject: Annotated[str | None, typer.Option(help="Only letters of this original subject.")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        nats_url: NatsUrl = None,
        data_dir: DataDir = Path(".data"),
    ) -> None:
        """List outstanding dead letters, oldest first. Exit code 0 even when there are none.

        Example: coldstream dlq list --service sending
        """
        letters = _run(nats_url, data_dir, lambda js: list_letters(js, service=service, subject=subject))
        if as_json:
            print(json.dumps([letter.summary() for letter in letters]))  # noqa: T201 - the command's output
            return
        table = Table("seq", "service", "subject", "error", "deliveries", "failed at", title="dead letters")
        for letter in letters:
            row = letter.summary()
            table.add_row(
                str(row["seq"]),
                row["service"],
                str(row["subject"]),
                f"{row['error_type']}: {row['error']}",
                str(row["deliveries"]),
                str(row["failed_at"]),
            )
        console.print(table if letters else "no dead letters")

    @dlq.command("show")
    def show(seq: int, nats_url: NatsUrl = None, data_dir: DataDir = Path(".data")) -> None:
        """Print one dead letter in full: original subject, headers, body, error."""
        letter = _run(nats_url, data_dir, lambda js: get_letter(js, seq))
        print(json.dumps({"seq": letter.seq, **letter.record}, indent=2))  # noqa: T201

    @dlq.command("replay")
    def replay_(seq: int, by: By = None, nats_url: NatsUrl = None, data_dir: DataDir = Path(".data")) -> None:
        """Publish a dead letter's event again (after a fix); it is applied once.

        Example: coldstream dlq replay 42
        """
        letter = _run(nats_url, data_dir, lambda js: replay(js, seq, by=by or getpass.getuser()))
        console.print(f"replayed #{seq} to {letter.record['original_subject']}")

    @dlq.command("drop")
    def drop_(
        seq: int,
        reason: Annotated[str, typer.Option(help="Why the event is given up (kept on record).")],
        by: By = None,
        nats_url: NatsUrl = None,
        data_dir: DataDir = Path(".data"),
    ) -> None:
        """Give up on a dead letter; who and why are recorded at dlq._ops.dropped."""
        _run(nats_url, data_dir, lambda js: drop(js, seq, by=by or getpass.getuser(), reason=reason))
        console.print(f"dropped #{seq}")
