"""Integration tests for the embedded runtime: real nats-server, Postgres and child processes."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import asyncpg
import nats
import pytest

from coldstream.runtime import ports
from coldstream.runtime.nats import NatsServer
from coldstream.runtime.postgres import PostgresServer
from coldstream.runtime.stack import EmbeddedStack
from coldstream.runtime.supervisor import ServiceStartError, Supervisor

pytestmark = pytest.mark.integration

PY = sys.executable


def _py(code: str) -> list[str]:
    return [PY, "-c", code]


# --------------------------------------------------------------------------- NATS


async def test_nats_jetstream_with_sync_always(nats_server: NatsServer) -> None:
    config = nats_server.config_path.read_text()
    assert "sync_interval: always" in config
    assert nats_server.monitor_url is not None
    with urllib.request.urlopen(f"{nats_server.monitor_url}/varz", timeout=5) as resp:
        varz = json.load(resp)
    # The server reports the parsed setting: proof it was accepted, not just written.
    assert varz["jetstream"]["config"]["sync_always"] is True
    assert varz["jetstream"]["config"]["store_dir"] == str(nats_server.store_dir)

    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream()
        await js.add_stream(name="RUNTIME_TEST", subjects=["runtime.test.>"])
        ack = await js.publish("runtime.test.a", b"hello")
        assert ack.stream == "RUNTIME_TEST"
        assert ack.seq == 1
        info = await js.stream_info("RUNTIME_TEST")
        assert info.state.messages == 1
    finally:
        await nc.close()


async def test_nats_acked_messages_survive_sigkill(nats_server_factory: Callable[..., NatsServer]) -> None:
    server = nats_server_factory()
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await js.add_stream(name="CHAOS", subjects=["chaos.>"])
    for i in range(5):
        await js.publish("chaos.x", str(i).encode())
    await nc.close()

    server.restart(kill=True)
    assert server.is_running

    nc = await nats.connect(server.url)
    try:
        info = await nc.jetstream().stream_info("CHAOS")
        assert info.state.messages == 5
    finally:
        await nc.close()


def test_nats_start_refuses_busy_port(tmp_path: Path, nats_server: NatsServer) -> None:
    with pytest.raises(RuntimeError, match="already in use"):
        NatsServer(tmp_path, port=nats_server.port).start()


# --------------------------------------------------------------------------- Postgres


async def test_postgres_select_1(postgres_server: PostgresServer, database_url: str) -> None:
    assert database_url == postgres_server.dsn
    assert database_url.startswith("postgresql+asyncpg://postgres@127.0.0.1:")
    conn = await asyncpg.connect(postgres_server.libpq_dsn)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        assert await conn.fetchval("SELECT current_database()") == "coldstream"
        assert await conn.fetchval("SHOW fsync") == "off"
    finally:
        await conn.close()


async def test_fresh_database_is_isolated(fresh_database_url: str, postgres_server: PostgresServer) -> None:
    name = fresh_database_url.rsplit("/", 1)[1]
    assert name.startswith("test_")
    conn = await asyncpg.connect(fresh_database_url.replace("+asyncpg", ""))
    try:
        assert await conn.fetchval("SELECT current_database()") == name
        assert await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    finally:
        await conn.close()


async def test_postgres_restart_after_sigkill_with_stale_pidfile(
    postgres_server_factory: Callable[..., PostgresServer],
) -> None:
    # fsync off is fine (SIGKILL keeps the page cache), but commits must reach the WAL.
    server = postgres_server_factory(settings={"fsync": "off"})
    conn = await asyncpg.connect(server.libpq_dsn)
    await conn.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (42)")
    await conn.close()

    server.kill()
    pidfile = server.pgdata / "postmaster.pid"
    assert pidfile.exists()
    # Worst case after a crash: the recorded pid now belongs to an unrelated live process of
    # the same user; postgres alone refuses to start ("lock file already exists").
    pg_user = "embedded_postgres" if os.geteuid() == 0 else None
    with subprocess.Popen(["sleep", "30"], user=pg_user) as squatter:
        lines = pidfile.read_text().splitlines()
        pidfile.write_text("\n".join([str(squatter.pid), *lines[1:]]) + "\n")
        try:
            server.start()
        finally:
            squatter.kill()
    conn = await asyncpg.connect(server.libpq_dsn)
    try:
        assert await conn.fetchval("SELECT x FROM t") == 42
    finally:
        await conn.close()


# --------------------------------------------------------------------------- Supervisor

_READY_CHILD = "import time; print('hello'); print('service ready', flush=True); time.sleep(60)"


def test_supervisor_prefixes_kills_and_restarts() -> None:
    out = io.StringIO()
    sup = Supervisor(output=out, colour=False, stop_timeout=2)
    sup.add("dummy", _py(_READY_CHILD))
    sup.add("longer-name", _py(_READY_CHILD))
    try:
        sup.start_all()
        sup.wait_ready(10)
        dummy = sup["dummy"]
        assert dummy.is_alive
        first_pid = dummy.pid

        dummy.kill()
        assert not dummy.is_alive
        assert dummy.returncode == -signal.SIGKILL

        dummy.restart()
        dummy.wait_ready(10)
        assert dummy.is_alive
        assert dummy.pid != first_pid
    finally:
        sup.stop_all()
    assert not any(svc.is_alive for svc in sup)
    text = out.getvalue()
    # Fixed-width tags: both services' lines start their message in the same column.
    assert "[dummy]       hello" in text
    assert "[longer-name] hello" in text
    assert "[dummy]       exited with code -9" in text


def test_supervisor_sigkills_after_grace_period() -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('service ready', flush=True); time.sleep(60)"  # noqa: E501
    sup = Supervisor(output=io.StringIO(), colour=True, stop_timeout=0.5)
    svc = sup.add("stubborn", _py(stubborn))
    svc.start()
    svc.wait_ready(10)
    started = time.monotonic()
    assert svc.stop() == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_supervisor_ready_file_and_crash_report(tmp_path: Path) -> None:
    out = io.StringIO()
    sup = Supervisor(output=out, colour=False)
    ready = tmp_path / "ready" / "filer"
    ready.parent.mkdir()
    ready.touch()  # stale file from a previous run must not count
    filer = sup.add(
        "filer",
        _py(f"import pathlib, time; time.sleep(0.3); pathlib.Path({str(ready)!r}).touch(); time.sleep(60)"),
        ready_file=ready,
    )
    crasher = sup.add("crasher", _py("print('boom: missing config'); raise SystemExit(3)"))
    try:
        filer.start()
        assert not filer.is_ready
        filer.wait_ready(10)
        crasher.start()
        with pytest.raises(ServiceStartError, match=r"(?s)'crasher' exited with code 3.*boom: missing config"):
            crasher.wait_ready(10)
    finally:
        sup.stop_all()


# --------------------------------------------------------------------------- Stack

_FAKE_SERVICE = """
import json, os, pathlib, time
name = os.environ["FAKE_NAME"]
keys = ["COLDSTREAM_NATS_URL", "COLDSTREAM_DATABASE_URL", "COLDSTREAM_DATA_DIR", "COLDSTREAM_REPLIES_PORT"]
print("env", json.dumps({k: os.environ[k] for k in keys}), flush=True)
pathlib.Path(os.environ["COLDSTREAM_DATA_DIR"], "ready", name).touch()
time.sleep(60)
"""


def _fake_stack(data_dir: Path, output: io.StringIO, migrated: list[str]) -> EmbeddedStack:
    return EmbeddedStack(
        data_dir,
        nats_port=0,
        postgres_port=0,
        replies_port=0,
        services=("alpha", "beta"),
        commands={
            "alpha": ["env", "FAKE_NAME=alpha", PY, "-c", _FAKE_SERVICE],
            "beta": ["env", "FAKE_NAME=beta", PY, "-c", _FAKE_SERVICE],
        },
        extra_env={"COLDSTREAM_EXTRA": "1"},
        postgres_settings={"fsync": "off", "synchronous_commit": "off"},
        migrate=migrated.append,
        output=output,
        colour=False,
        stop_timeout=2,
    )


async def test_stack_starts_everything_and_writes_endpoints(tmp_path: Path) -> None:
    out = io.StringIO()
    migrated: list[str] = []
    stack = _fake_stack(tmp_path / "stack", out, migrated)
    async with stack:
        endpoints = json.loads(stack.endpoints_path.read_text())
        assert endpoints == {
            "nats_url": stack.nats_url,
            "database_url": stack.database_url,
            "replies_url": f"http://127.0.0.1:{stack.replies_port}",
            "data_dir": str(stack.data_dir),
            "outbox_dir": str(stack.data_dir / "outbox"),
            "traces": str(stack.data_dir / "traces"),
            "pid": os.getpid(),
        }
        assert migrated == [stack.database_url]
        assert stack.supervisor["alpha"].wait_for_output("env ", 5)
        env_line = next(ln for ln in stack.supervisor["beta"].lines() if ln.startswith("env "))
        assert json.loads(env_line[4:])["COLDSTREAM_DATABASE_URL"] == stack.database_url
        assert json.loads(env_line[4:])["COLDSTREAM_REPLIES_PORT"] == str(stack.replies_port)
        stack.restart_service("alpha", kill=True)
        assert stack.supervisor["alpha"].is_alive
    assert not stack.endpoints_path.exists()
    assert not (stack.ready_dir / "alpha").exists()
    assert not stack.nats.is_running
    assert not stack.postgres.is_running
    assert "coldstream stack ready" in out.getvalue()


def test_run_until_signal_stops_everything_on_sigterm(tmp_path: Path) -> None:
    data_dir = tmp_path / "up"
    script = f"""
import sys
from coldstream.runtime.stack import EmbeddedStack, run_until_signal
cmd = ["env", "FAKE_NAME=alpha", sys.executable, "-c", {_FAKE_SERVICE!r}]
stack = EmbeddedStack({str(data_dir)!r}, nats_port=0, postgres_port=0, replies_port=0,
                      services=["alpha"], commands={{"alpha": cmd}}, migrate=lambda url: None,
                      postgres_settings={{"fsync": "off"}}, colour=False, stop_timeout=2)
raise SystemExit(run_until_signal(stack))
"""
    proc = subprocess.Popen([PY, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (data_dir / "endpoints.json").exists():
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline
            time.sleep(0.05)
        endpoints = json.loads((data_dir / "endpoints.json").read_text())
        assert endpoints["pid"] == proc.pid
        nats_port = int(endpoints["nats_url"].rsplit(":", 1)[1])
        pg_port = int(endpoints["database_url"].split(":")[-1].split("/")[0])
        assert ports.port_in_use(nats_port)
        assert ports.port_in_use(pg_port)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "[alpha] exited with code" in output
    assert not ports.port_in_use(nats_port)
    assert not ports.port_in_use(pg_port)
    assert not (data_dir / "endpoints.json").exists()
