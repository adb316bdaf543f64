"""Pure arithmetic for import progress: rows/s since the source started, and an ETA from the estimated total."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

# A progress event at most this often (plus one when a source is done): a batch every few ms would flood the stream.
PROGRESS_EVERY_SECONDS = 1.0


@dataclass
class ProgressMeter:
    """Counts one source's rows; `due()` says when the next progress event is worth sending."""

    rows_total: int | None
    clock: Callable[[], float] = time.monotonic
    rows_read: int = 0
    _started: float = field(default=0.0, init=False)
    _last_report: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._started = self._last_report = self.clock()

    def add(self, rows: int) -> None:
        self.rows_read += rows

    def due(self) -> bool:
        now = self.clock()
        if now - self._last_report >= PROGRESS_EVERY_SECONDS:
            self._last_report = now
            return True
        return False

    @property
    def rows_per_second(self) -> float:
        elapsed = self.clock() - self._started
        return round(self.rows_read / elapsed, 1) if elapsed > 0 else 0.0

    def eta_seconds(self, done: bool = False) -> float | None:
        """Seconds left at the current rate; None while the rate or the total is unknown."""
        if done:
            return 0.0
        rate = self.rows_per_second
        if self.rows_total is None or rate <= 0:
            return None
        return round(max(0, self.rows_total - self.rows_read) / rate, 1)

    def total(self, done: bool = False) -> int | None:
        """The estimate, raised to what was read (an estimate from the file size can fall short)."""
        if done:
            return self.rows_read
        return None if self.rows_total is None else max(self.rows_total, self.rows_read)
