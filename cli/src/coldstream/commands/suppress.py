"""`coldstream suppress add|remove|list|import`: the permanent suppression list, by hand (audited).

The sending service's database is the authority; these commands write to it directly (the same use cases the
service runs), so a suppression holds from the moment the command returns. The touches an addition cancels are
announced as `email.cancelled` through the sending outbox: published by the command when NATS answers, else by the
running sending service's outbox relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from faststream.nats import NatsBroker
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DBAPIError, ProgrammingError

from coldstream import endpoints
from coldstream_shared.db import make_engine, make_sessionmaker
from coldstream_shared.outbox import Outbox
from sending import manage_suppressions
from sending.store import outbox as outbox_table
from sending.suppression import InvalidSuppressionError

log = logging.getLogger(__name__)

console = Console()
T = TypeVar("T")
DbOption = Annotated[str | None, typer.Option("--database-url", help="Postgres URL (default: env, then the stack's).")]
DataDir = Annotated[Path, typer.Option(envvar="COLDSTREAM_DATA_DIR")]
NatsOption = Annotated[str | None, typer.Option("--nats-url", help="NATS URL (default: env, then the stack's).")]
# A missing broker must not hold an operator up: the sending service's outbox relay publishes the events later.
NATS_CONNECT_TIMEOUT = 3  # seconds (FastStream types it as int)


class ScopeChoice(StrEnum):
    email = "email"
    domain = "domain"


def _run(database_url: str | None, data_dir: Path, work: Callable[[manage_suppressions.Sessions], Awaitable[T]]) -> T:
    async def main() -> T:
        engine = make_engine(endpoints.database_url(database_url, data_dir), service="cli", pooled=False)
        try:
            return await work(make_sessionmaker(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except InvalidSuppressionError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error
    except ProgrammingError as error:
        console.print("[red]the sending schema is missing: start the stack once (coldstream up) to migrate it[/red]")
        raise typer.Exit(1) from error
    except (DBAPIError, OSError) as error:
        console.print(f"[red]cannot reach the database: {type(error).__name__}[/red]")
        raise typer.Exit(1) from error


@contextlib.asynccontextmanager
async def _outbox(sessions: manage_suppressions.Sessions, url: str) -> AsyncIterator[Outbox | None]:
    """The sending outbox with a connected broker, or None when NATS does not answer (events are stored only)."""
    broker = NatsBroker(url, connect_timeout=NATS_CONNECT_TIMEOUT, max_reconnect_attempts=1, reconnect_time_wait=1)
    try:
        await asyncio.wait_for(broker.connect(), NATS_CONNECT_TIMEOUT * 2)
    except Exception as error:  # any failure to connect means: leave publishing to the relay
        log.info("NATS at %s not reachable (%r): email.cancelled left to the sending service's relay", url, error)
        await broker.stop()
        yield None
        return
    try:
        yield Outbox(outbox_table, sessions, broker)
    finally:
        await broker.stop()


def _with_outbox(
    nats_url: str | None, data_dir: Path, work: Callable[[manage_suppressions.Sessions, Outbox | None], Awaitable[T]]
) -> Callable[[manage_suppressions.Sessions], Awaitable[T]]:
    async def run(sessions: manage_suppressions.Sessions) -> T:
        async with _outbox(sessions, endpoints.nats_url(nats_url, data_dir)) as outbox:
            return await work(sessions, outbox)

    return run


def register(app: typer.Typer, campaign_app: typer.Typer) -> None:
    suppress_app = typer.Typer(
        help="The permanent suppression list (addresses and whole domains).", no_args_is_help=True
    )
    app.add_typer(suppress_app, name="suppress")

    @suppress_app.command("add")
    def add(
        value: Annotated[str, typer.Argument(help="bob@acme.com, or acme.com / @acme.com for a whole domain.")],
        reason: Annotated[
            str, typer.Option(help="Why (kept with the entry). 'complaint' marks a spam complaint: sticky.")
        ] = "manual",
        by: Annotated[str | None, typer.Option(help="Who (default: your user name).")] = None,
        database_url: DbOption = None,
        nats_url: NatsOption = None,
        data_dir: DataDir = Path(".data"),
    ) -> None:
        """Never email this address (or domain) again; what was scheduled for it is cancelled.

        Example: coldstream suppress add @competitor.com --reason "competitor"
        Example: coldstream suppress add bob@acme.com --reason complaint
        """
        actor = by or getpass.getuser()
        added = _run(
            database_url,
            data_dir,
            _with_outbox(
                nats_url, data_dir, lambda s, o: manage_suppressions.add(s, value, reason, actor=actor, outbox=o)
            ),
        )
        console.print(f"{value} {'suppressed' if added else 'was already suppressed'}")

    @suppress_app.command("remove")
    def remove(
        value: str,
        reason: Annotated[str, typer.Option(help="Why it may be emailed again (required, audited).")],
        by: Annotated[str | None, typer.Option(help="Who (default: your user name).")] = None,
        database_url: DbOption = None,
        data_dir: DataDir = Path(".data"),
    ) -> None:
        """Take an entry off the list: a deliberate act, recorded with who and why.

        Example: coldstream suppress remove bob@acme.com --reason "asked to be re-added by email on 2026-03-01"
        """
        actor = by or getpass.getuser()
        removed = _run(
            database_url, data_dir, lambda s: manage_suppressions.remove(s, value, actor=actor, reason=reason)
        )
        if not removed:
            console.print(f"[yellow]{value} is not on the list[/yellow]")
            raise typer.Exit(1)
        console.print(f"{value} removed by {actor} (audited)")

    @suppress_app.command("list")
    def list_(
        scope: Annotated[ScopeChoice | None, typer.Option(help="Only addresses or only domains.")] = None,
        contains: Annotated[str | None, typer.Option(help="Only values containing this text.")] = None,
        database_url: DbOption = None,
        data_dir: DataDir = Path(".data"),
    ) -> None:
        """Show the list, oldest first."""
        entries = _run(
            database_url,
            data_dir,
            lambda s: manage_suppressions.list_entries(s, scope=scope.value if scope else None, contains=contains),
        )
        table = Table("value", "scope", "reason", "source", "since")
        for entry in entries:
            table.add_row(entry.value, entry.scope, entry.reason, entry.source, f"{entry.created_at:%Y-%m-%d %H:%M}")
        console.print(table)
        console.print(f"{len(entries)} entries")

    @suppress_app.command("import")
    def import_(
        path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="One address or domain per line.")],
        reason: Annotated[str, typer.Option(help="Why (kept with every entry).")] = "import",
        by: Annotated[str | None, typer.Option(help="Who (default: your user name).")] = None,
        database_url: DbOption = None,
        nats_url: NatsOption = None,
        data_dir: DataDir = Path(".data"),
    ) -> None:
        """Suppress every address or domain in a file (a CSV's first column works too); bad lines are listed."""
        actor = by or getpass.getuser()
        values = [line.split(",")[0].strip().strip('"') for line in path.read_text().splitlines()]
        values = [v for v in values if v and v.lower() not in ("email", "value", "domain")]
        result = _run(
            database_url,
            data_dir,
            _with_outbox(
                nats_url,
                data_dir,
                lambda s, o: manage_suppressions.import_values(s, values, reason, actor=actor, outbox=o),
            ),
        )
        console.print(f"{result.added} added, {result.already_listed} already listed, {len(result.invalid)} invalid")
        for bad in result.invalid:
            console.print(f"  [red]not an address or a domain:[/red] {bad}")
