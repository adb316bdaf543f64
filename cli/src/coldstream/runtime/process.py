"""Low-level helpers to signal, stop and kill child processes and their process groups."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any


def signal_group(proc: subprocess.Popen[Any], sig: int) -> None:
    """Send ``sig`` to the process group led by ``proc`` (falls back to the process itself)."""
    # Signalling the group also reaches grandchildren (worker pools, shells)
    # that would otherwise be orphaned and keep ports or pipes open.
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        if proc.poll() is None:
            proc.send_signal(sig)


def stop_process(
    proc: subprocess.Popen[Any], sig: int = signal.SIGTERM, timeout: float = 10.0, *, group: bool = True
) -> int | None:
    """Send ``sig`` (to the group or just the leader), wait ``timeout`` s, then SIGKILL the group."""
    if proc.poll() is None:
        if group:
            signal_group(proc, sig)
        else:
            proc.send_signal(sig)
    return wait_or_kill(proc, timeout)


def wait_or_kill(proc: subprocess.Popen[Any], timeout: float) -> int | None:
    """Wait up to ``timeout`` seconds for an exit already requested, then SIGKILL the group."""
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return kill_process(proc)
    # The leader is gone; children that outlived it (same group) would leak ports and pipes.
    signal_group(proc, signal.SIGKILL)
    return code


def kill_process(proc: subprocess.Popen[Any]) -> int | None:
    """SIGKILL the whole process group (simulates a crash) and reap the leader."""
    signal_group(proc, signal.SIGKILL)
    try:
        return proc.wait(10)
    except subprocess.TimeoutExpired:  # pragma: no cover - only in uninterruptible sleep
        return None


def tail_file(path: Path, lines: int = 30) -> str:
    """Return the last ``lines`` lines of a text file, or '' when it does not exist."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
