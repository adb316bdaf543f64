"""The whole Coldstream stack on one machine: NATS, Postgres, migrations and the five services."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from coldstream.runtime import ports
from coldstream.runtime.nats import NatsServer
from coldstream.runtime.postgres import PostgresServer
from coldstream.runtime.supervisor import Supervisor, service_command

SERVICES: tuple[str, ...] = ("discovery", "enrichment", "personalization", "sending", "replies")


def _default_migrate(database_url: str) -> None:
    """Run the lead's migrations (imported lazily: it pulls in alembic and every service's models)."""
    from coldstream.migrate import migrate_all  # type: ignore[import-not-found, unused-ignore]

    migrate_all(database_url)


@dataclass
class EmbeddedStack:
    """Configuration and lifecycle of a local stack; ports set to 0 are picked at construction."""

    data_dir: Path
    nats_port: int = 4222
    postgres_port: int = 54329
    replies_port: int = 8080
    nats_http_port: int | None = None
    services: Sequence[str] = SERVICES
    extra_env: Mapping[str, str] = field(default_factory=dict)
    postgres_settings: Mapping[str, str] = field(default_factory=dict)
    commands: Mapping[str, Sequence[str]] = field(default_factory=dict)  # per-service override (tests)
    migrate: Callable[[str], None] | None = None  # default: coldstream.migrate.migrate_all
    ready_timeout: float = 60.0
    stop_timeout: float = 15.0
    output: TextIO | None = None  # default: sys.stdout at write time
    colour: bool | None = None  # None: auto (tty, NO_COLOR, FORCE_COLOR)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        # Resolve "0" once, so URLs stay valid across restarts of single components.
        self.replies_port = ports.resolve_port(self.replies_port)
        self.nats = NatsServer(self.data_dir / "nats", self.nats_port, self.nats_http_port)
        self.postgres = PostgresServer(self.data_dir / "postgres", self.postgres_port, self.postgres_settings)
        self.nats_port, self.postgres_port = self.nats.port, self.postgres.port
        self.supervisor = Supervisor(output=self.output, colour=self.colour, stop_timeout=self.stop_timeout)
        self._lock = threading.Lock()  # start/stop may race from a signal handler and a worker thread

    @property
    def nats_url(self) -> str:
        """Client URL of the embedded NATS server."""
        return self.nats.url

    @property
    def database_url(self) -> str:
        """SQLAlchemy/asyncpg URL of the ``coldstream`` database."""
        return self.postgres.dsn

    @property
    def replies_url(self) -> str:
        """Base URL of the replies service's HTTP endpoint."""
        return f"http://{ports.LOCALHOST}:{self.replies_port}"

    @property
    def ready_dir(self) -> Path:
        """Folder where services touch ``<service>`` once started."""
        return self.data_dir / "ready"

    @property
    def endpoints_path(self) -> Path:
        """The endpoints.json written after a successful start."""
        return self.data_dir / "endpoints.json"

    def endpoints(self) -> dict[str, Any]:
        """What tools and tests need to talk to the running stack."""
        return {
            "nats_url": self.nats_url,
            "database_url": self.database_url,
            "replies_url": self.replies_url,
            "data_dir": str(self.data_dir),
            "outbox_dir": str(self.data_dir / "outbox"),
            "traces": str(self.data_dir / "traces"),
            "pid": os.getpid(),
        }

    def service_env(self) -> dict[str, str]:
        """Environment for every service: ours > os.environ, and extra_env > ours."""
        return {
            **os.environ,
            "COLDSTREAM_NATS_URL": self.nats_url,
            "COLDSTREAM_DATABASE_URL": self.database_url,
            "COLDSTREAM_DATA_DIR": str(self.data_dir),
            "COLDSTREAM_REPLIES_PORT": str(self.replies_port),
            # Unsubscribe links in emails point at this stack's replies service unless told otherwise.
            "COLDSTREAM_PUBLIC_URL": os.environ.get("COLDSTREAM_PUBLIC_URL", self.replies_url),
            # The outbox lives under the stack's data folder, not wherever the caller's environment says.
            "COLDSTREAM_OUTBOX_DIR": str(self.data_dir / "outbox"),
            **self.extra_env,
        }

    def start_sync(self) -> None:
        """Start everything, blocking; on any failure stop what was started and re-raise."""
        with self._lock:
            try:
                self._start()
            except BaseException:
                self._stop()
                raise

    def _start(self) -> None:
        """Bring components up in dependency order."""
        for sub in ("ready", "outbox", "traces"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        self._clear_ready_files()
        if "replies" in self.services:
            ports.ensure_port_free(self.replies_port, "replies service")
        # NATS and Postgres are independent; Postgres (initdb) is the slow one.
        with ThreadPoolExecutor(2, thread_name_prefix="stack-start") as pool:
            futures = [pool.submit(self.nats.start), pool.submit(self.postgres.start)]
            for fut in futures:
                fut.result()
        # Synchronous: start() runs us in a worker thread, so a migrate_all that calls
        # asyncio.run() works. (Hence: never call start_sync() from inside a running loop.)
        (self.migrate or _default_migrate)(self.database_url)
        env = self.service_env()  # snapshot os.environ now, not at construction
        self.supervisor = Supervisor(output=self.output, colour=self.colour, stop_timeout=self.stop_timeout)
        for name in self.services:
            command = self.commands.get(name) or service_command(name)
            self.supervisor.add(name, command, env, cwd=self.data_dir, ready_file=self.ready_dir / name)
        self.supervisor.start_all()
        self.supervisor.wait_ready(self.ready_timeout)
        self._write_endpoints()

    def _write_endpoints(self) -> None:
        """Write endpoints.json atomically and announce the endpoints."""
        data = self.endpoints()
        tmp = self.endpoints_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.endpoints_path)  # readers never see a half-written file
        width = max(len(k) for k in data)
        lines = [f"coldstream stack ready ({len(self.services)} services)"]
        lines += [f"  {key.ljust(width)}  {value}" for key, value in data.items()]
        stream = self.output or sys.stdout
        stream.write("\n".join(lines) + "\n")
        stream.flush()

    def _clear_ready_files(self) -> None:
        """Delete ready markers so a previous run cannot fake readiness."""
        for name in self.services:
            (self.ready_dir / name).unlink(missing_ok=True)

    def stop_sync(self) -> None:
        """Stop services first (they drain), then NATS, then Postgres; safe to call twice."""
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        """Best-effort shutdown: one component failing to stop must not leak the others."""
        errors: list[BaseException] = []
        for step in (self.supervisor.stop_all, self.nats.stop, self.postgres.stop):
            try:
                step()
            except Exception as exc:
                errors.append(exc)
        self._clear_ready_files()
        with contextlib.suppress(OSError, ValueError):
            if json.loads(self.endpoints_path.read_text()).get("pid") == os.getpid():
                self.endpoints_path.unlink()  # only our own file: another stack may own the dir
        if errors:
            raise errors[0]

    def restart_service(self, name: str, *, kill: bool = False) -> None:
        """Restart one service (SIGKILL if ``kill``) and wait until it is ready again."""
        svc = self.supervisor[name]
        svc.restart(kill=kill)
        svc.wait_ready(self.ready_timeout)

    async def start(self) -> None:
        """Async wrapper: runs start_sync in a worker thread so the caller's loop stays free."""
        await asyncio.to_thread(self.start_sync)

    async def stop(self) -> None:
        """Async wrapper around stop_sync."""
        await asyncio.to_thread(self.stop_sync)

    def __enter__(self) -> EmbeddedStack:
        self.start_sync()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_sync()

    async def __aenter__(self) -> EmbeddedStack:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def run_until_signal(stack: EmbeddedStack) -> int:
    """Start ``stack`` and block until SIGINT/SIGTERM, then stop it cleanly (main thread only)."""
    stop = threading.Event()
    started = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # Before startup finishes (or on a second Ctrl-C) abort right away;
        # start_sync's cleanup still stops whatever was already running.
        if not started or stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stack.start_sync()
        started = True
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        return 130
    finally:
        # Ignore further signals while stopping: a half-finished stop leaks processes.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        try:
            stack.stop_sync()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return 0
