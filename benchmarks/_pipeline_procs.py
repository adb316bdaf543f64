"""Memory and CPU of the stack's processes, sampled with psutil while the pipeline runs."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import psutil

MB = 1024 * 1024
INTERVAL = 0.25
# Postgres's PSS (every backend's page tables walked) took ~75 ms of the harness's CPU per sample, three quarters of
# all it used, on the same two cores as the pipeline: that tree is measured every 8th sample (2 s) and at both ends.
PROPORTIONAL_EVERY = 8


def _tree(root: psutil.Process) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return [root, *root.children(recursive=True)]
    return []


def _memory(root: psutil.Process, proportional: bool) -> int:
    """RSS of a lone process; PSS summed over a tree (or with `proportional`), so memory shared between its
    processes (libraries, a spawned worker's interpreter pages, Postgres's shared buffers) counts once."""
    total = 0
    tree = _tree(root)
    proportional = proportional or len(tree) > 1
    for proc in tree:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_full_info().pss if proportional else proc.memory_info().rss
    return total


def _cpu_seconds(root: psutil.Process, *, children: bool = True) -> float:
    """User + system CPU of a process tree, counting children it already reaped (postgres backends come and go)."""
    total = 0.0
    for proc in _tree(root) if children else [root]:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
            if children:
                total += times.children_user + times.children_system
    return total


@dataclass
class Usage:
    """Per process group: peak RSS (MB) over the samples, CPU seconds at two moments."""

    peak_mb: dict[str, float] = field(default_factory=dict)
    cpu_at_start: dict[str, float] = field(default_factory=dict)
    cpu_at_end: dict[str, float] = field(default_factory=dict)
    samples: int = 0
    trees: set[str] = field(default_factory=set)  # measured while they had child processes (PSS)

    def cpu_during(self, name: str) -> float | None:
        if name not in self.cpu_at_start or name not in self.cpu_at_end:
            return None
        return self.cpu_at_end[name] - self.cpu_at_start[name]


class Sampler:
    """Polls the RSS of each named process tree every INTERVAL seconds in a thread; CPU on demand.

    `HARNESS` is this benchmark process (publishing, watching the funnel): only its own CPU, since every
    other process of the stack is its child.
    """

    HARNESS = "bench harness"

    def __init__(self, pids: dict[str, int], proportional: Iterable[str] = ()) -> None:
        self.roots = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.proportional = set(proportional)  # many processes sharing memory (postgres): PSS, not RSS
        self.me = psutil.Process(os.getpid())
        self.usage = Usage()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)

    def cpu(self) -> dict[str, float]:
        result = {name: _cpu_seconds(root) for name, root in self.roots.items()}
        return result | {self.HARNESS: _cpu_seconds(self.me, children=False)}

    def sample(self, *, everything: bool = False) -> None:
        due = everything or self.usage.samples % PROPORTIONAL_EVERY == 0
        for name, root in self.roots.items():
            if name in self.proportional and not due:
                continue
            if len(_tree(root)) > 1:
                self.usage.trees.add(name)
            used = _memory(root, proportional=name in self.proportional)
            self.usage.peak_mb[name] = max(self.usage.peak_mb.get(name, 0.0), used / MB)
        with contextlib.suppress(psutil.Error):
            self.usage.peak_mb[self.HARNESS] = max(
                self.usage.peak_mb.get(self.HARNESS, 0.0), self.me.memory_info().rss / MB
            )
        self.usage.samples += 1

    def _loop(self) -> None:
        while not self._stop.wait(INTERVAL):
            self.sample()

    def start(self) -> None:
        self.sample(everything=True)
        self.usage.cpu_at_start = self.cpu()
        self._thread.start()

    def stop(self) -> Usage:
        """Stop sampling and take the closing CPU figures (call before the stack stops)."""
        self._stop.set()
        self._thread.join()
        self.sample(everything=True)
        self.usage.cpu_at_end = self.cpu()
        return self.usage
