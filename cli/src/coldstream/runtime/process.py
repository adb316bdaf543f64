"""Signal, stop and kill child processes and their process groups; the lifecycle the runtime's children share."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Self


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


class ManagedProcess:
    """The lifecycle every child of the embedded runtime shares: start, wait until ready, stop, kill, restart.

    Subclasses implement `start()` (spawn into `_proc`, optionally writing to `_log`) and may override
    `_release()` to drop what else they hold once the process is gone.
    """

    stop_signal: int = signal.SIGTERM
    stop_group: bool = True  # signal the whole process group, not only the leader
    stop_timeout: float = 10.0
    _proc: subprocess.Popen[Any] | None = None
    _log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """OS pid of the running process, if started."""
        return self._proc.pid if self._proc else None

    @property
    def is_running(self) -> bool:
        """True while the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        raise NotImplementedError

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> None:
        """Poll `ready` until it holds; raise with the log's tail if the process exits or `timeout` passes."""
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while not ready():
            tail = "" if log is None else f":\n{tail_file(log)}"
            if self._proc.poll() is not None:
                raise RuntimeError(f"{what} exited with code {self._proc.returncode}{tail}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not ready after {timeout}s{tail}")
            time.sleep(0.05)

    def stop(self, timeout: float | None = None) -> int | None:
        """`stop_signal`, wait up to `timeout` (default `stop_timeout`) seconds, then SIGKILL; the exit code."""
        code = None
        if self._proc is not None:
            wait = self.stop_timeout if timeout is None else timeout
            code = stop_process(self._proc, self.stop_signal, wait, group=self.stop_group)
        self._release()
        return code

    def kill(self) -> int | None:
        """SIGKILL the process group at once (crash simulation)."""
        code = kill_process(self._proc) if self._proc is not None else None
        self._release()
        return code

    def restart(self, *, kill: bool = False) -> None:
        """Stop (or kill) and start again with the same settings."""
        if kill:
            self.kill()
        else:
            self.stop()
        self.start()

    def _release(self) -> None:
        """Close our handle on the log file (the child keeps its own)."""
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
