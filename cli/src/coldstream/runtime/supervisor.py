"""Run services as child processes with prefixed, coloured output and clean shutdown."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from coldstream.runtime.process import ManagedProcess, signal_group, wait_or_kill

READY_MARKER = "service ready"
_COLOURS = ("36", "32", "35", "33", "34", "96", "92", "95", "93", "94")  # ANSI foreground codes
_WRITE_LOCK = threading.Lock()  # one lock for all services so lines never interleave mid-line


class ServiceStartError(RuntimeError):
    """A supervised process died or never reported readiness."""


def service_command(module: str) -> list[str]:
    """Return the command that runs ``python -m module`` with this interpreter."""
    return [sys.executable, "-m", module]


def _auto_colour(stream: TextIO) -> bool:
    """Decide whether to emit ANSI colours (NO_COLOR / FORCE_COLOR conventions)."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("FORCE_COLOR")) or stream.isatty()


class ServiceProcess(ManagedProcess):
    """One supervised OS process whose output is streamed with a ``[name]`` prefix.

    stop() sends SIGTERM, waits the grace period, then SIGKILLs; kill() SIGKILLs the process group at once.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        *,
        cwd: Path | None = None,
        ready_file: Path | None = None,
        output: TextIO | None = None,
        colour: str | None = None,
        stop_timeout: float = 10.0,
        history: int = 500,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.ready_file = ready_file
        self.output = output
        self.colour = colour  # ANSI code, or None for plain text
        self.tag_width = len(name)
        self.stop_timeout = stop_timeout
        self._lines: collections.deque[str] = collections.deque(maxlen=history)
        self._cond = threading.Condition()
        self._ready_seen = False
        self._reader: threading.Thread | None = None

    @property
    def is_alive(self) -> bool:
        """True while the process is running (same as ``is_running``)."""
        return self.is_running

    @property
    def returncode(self) -> int | None:
        """Exit code once the process has ended (negative = killed by signal)."""
        return self._proc.poll() if self._proc else None

    @property
    def is_ready(self) -> bool:
        """True once the process printed the ready marker or touched its ready file."""
        return self._ready_seen or (self.ready_file is not None and self.ready_file.exists())

    def start(self) -> None:
        """Spawn the process in its own process group and start streaming its output."""
        if self.is_alive:
            raise RuntimeError(f"{self.name} is already running")
        if self.ready_file is not None:
            self.ready_file.unlink(missing_ok=True)  # a leftover file would fake readiness
        with self._cond:
            self._ready_seen = False
            self._lines.clear()
        env = {**self.env, "PYTHONUNBUFFERED": "1"}  # stream lines as they happen
        # start_new_session: Ctrl-C in the terminal must not hit services directly;
        # the stack decides the shutdown order (services before NATS and Postgres).
        self._proc = subprocess.Popen(
            self.command,
            env=env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._pump, args=(self._proc,), name=f"out-{self.name}", daemon=True)
        self._reader.start()

    def _pump(self, proc: subprocess.Popen[bytes]) -> None:
        """Copy the child's output line by line to our output, remembering recent lines."""
        assert proc.stdout is not None
        for raw in proc.stdout:
            self._emit(raw.decode("utf-8", "replace").rstrip("\r\n"))
        self._emit(f"exited with code {proc.wait()}")

    def _emit(self, line: str) -> None:
        """Record one line and write it with the coloured fixed-width tag."""
        with self._cond:
            self._lines.append(line)
            if READY_MARKER in line:
                self._ready_seen = True
            self._cond.notify_all()
        stream = self.output or sys.stdout  # resolved late so pytest capture works
        tag = f"[{self.name}]".ljust(self.tag_width + 2)
        if self.colour is not None:
            tag = f"\x1b[{self.colour}m{tag}\x1b[0m"
        with _WRITE_LOCK:
            try:
                stream.write(f"{tag} {line}\n")
                stream.flush()
            except (ValueError, OSError):  # stream closed during interpreter shutdown
                pass

    def lines(self) -> list[str]:
        """Recent output lines (without the tag)."""
        with self._cond:
            return list(self._lines)

    def output_tail(self, lines: int = 30) -> str:
        """The last ``lines`` output lines joined, for error messages."""
        return "\n".join(self.lines()[-lines:])

    def wait_for_output(self, text: str, timeout: float) -> bool:
        """Block until a line containing ``text`` was printed; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: any(text in ln for ln in self._lines), timeout)

    def check_ready(self, waited: float | None = None) -> bool:
        """Return readiness; raise ServiceStartError if the process died (or ``waited`` is set)."""
        if self.is_ready:
            return True
        if not self.is_alive:
            if self._reader is not None:
                self._reader.join(2)  # let the last lines (the traceback) arrive
            raise ServiceStartError(
                f"service {self.name!r} exited with code {self.returncode} before it was ready; "
                f"last output:\n{self.output_tail()}"
            )
        if waited is not None:
            raise ServiceStartError(
                f"service {self.name!r} not ready after {waited:.0f}s (no {READY_MARKER!r} line, "
                f"no {self.ready_file}); last output:\n{self.output_tail()}"
            )
        return False

    def wait_ready(self, timeout: float) -> None:
        """Block until ready; raise ServiceStartError naming the service if it dies or times out."""
        deadline = time.monotonic() + timeout
        while not self.check_ready(timeout if time.monotonic() > deadline else None):
            with self._cond:
                self._cond.wait(0.05)

    def _release(self) -> None:
        """Wait for the output thread so no line is printed after stop() returns."""
        if self._reader is not None:
            self._reader.join(5)


class Supervisor:
    """A named group of ServiceProcess objects that start and stop together."""

    def __init__(self, *, output: TextIO | None = None, colour: bool | None = None, stop_timeout: float = 10.0) -> None:
        self.output = output
        self.colour = _auto_colour(output or sys.stdout) if colour is None else colour
        self.stop_timeout = stop_timeout
        self._services: dict[str, ServiceProcess] = {}

    def add(
        self,
        name: str,
        command: Sequence[str] | None = None,
        env: Mapping[str, str] | None = None,
        *,
        cwd: Path | None = None,
        ready_file: Path | None = None,
    ) -> ServiceProcess:
        """Register a process; ``command`` defaults to ``python -m <name>``."""
        if name in self._services:
            raise ValueError(f"duplicate service {name!r}")
        colour = _COLOURS[len(self._services) % len(_COLOURS)] if self.colour else None
        svc = ServiceProcess(
            name,
            command or service_command(name),
            env,
            cwd=cwd,
            ready_file=ready_file,
            output=self.output,
            colour=colour,
            stop_timeout=self.stop_timeout,
        )
        self._services[name] = svc
        width = max(len(n) for n in self._services)
        for s in self._services.values():  # keep every tag the same width
            s.tag_width = width
        return svc

    def __getitem__(self, name: str) -> ServiceProcess:
        return self._services[name]

    def __iter__(self) -> Iterator[ServiceProcess]:
        return iter(list(self._services.values()))

    def start_all(self) -> None:
        """Start every registered process."""
        for svc in self:
            svc.start()

    def wait_ready(self, timeout: float) -> None:
        """Wait until every process is ready; fail fast, naming the first one that died or timed out."""
        deadline = time.monotonic() + timeout
        while True:
            waited = timeout if time.monotonic() > deadline else None
            # Check every service each round (no short-circuit): a crash of the last
            # one surfaces at once instead of after the earlier ones became ready.
            states = [svc.check_ready(waited) for svc in self]
            if all(states):
                return
            time.sleep(0.05)

    def stop_all(self, timeout: float | None = None) -> None:
        """SIGTERM every process at once, then wait with one shared grace period, then SIGKILL."""
        deadline = time.monotonic() + (self.stop_timeout if timeout is None else timeout)
        running = [svc for svc in self if svc._proc is not None and svc.is_alive]
        for svc in running:  # signal all first so shutdowns overlap instead of queueing
            assert svc._proc is not None
            signal_group(svc._proc, signal.SIGTERM)
        for svc in running:
            assert svc._proc is not None
            # One signal only: some servers treat a second SIGTERM/SIGINT as "force quit".
            wait_or_kill(svc._proc, max(0.0, deadline - time.monotonic()))
            svc._release()

    def kill(self, name: str) -> None:
        """SIGKILL one service."""
        self._services[name].kill()

    def restart(self, name: str, *, kill: bool = False) -> None:
        """Restart one service (optionally by SIGKILL)."""
        self._services[name].restart(kill=kill)
