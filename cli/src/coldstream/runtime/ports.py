"""Free-port discovery and TCP readiness probes on the loopback interface."""

from __future__ import annotations

import contextlib
import socket
import time

LOCALHOST = "127.0.0.1"


def free_ports(count: int, host: str = LOCALHOST) -> list[int]:
    """Return ``count`` distinct TCP ports that were free a moment ago."""
    # Hold every socket open until all are bound, otherwise the kernel may hand
    # out the same ephemeral port twice within one call.
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def free_port(host: str = LOCALHOST) -> int:
    """Return one TCP port that was free a moment ago (racy by nature, fine for local use)."""
    return free_ports(1, host)[0]


def resolve_port(port: int, host: str = LOCALHOST) -> int:
    """Map the ``0`` convention ("pick any free port") to a concrete port number."""
    return port if port else free_port(host)


def port_in_use(port: int, host: str = LOCALHOST) -> bool:
    """Return True when something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def ensure_port_free(port: int, what: str, host: str = LOCALHOST) -> None:
    """Raise a readable error if ``port`` is taken, instead of a confusing bind failure later."""
    # Without this check a readiness probe could happily talk to a *different*
    # server that already owns the port while ours died on "address in use".
    if port_in_use(port, host):
        raise RuntimeError(f"{what}: port {host}:{port} is already in use (pass 0 to pick a free port)")


def wait_for_port(port: int, timeout: float, host: str = LOCALHOST) -> bool:
    """Poll until ``host:port`` accepts TCP connections; return False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_in_use(port, host):
            return True
        time.sleep(0.05)
    return False
