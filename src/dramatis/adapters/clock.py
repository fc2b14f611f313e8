"""Clocks: the system UTC clock and a frozen one for deterministic tests and snapshots."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class SystemClock:
    """Wall-clock UTC time and a monotonic timer."""

    def now_iso(self) -> str:
        return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def monotonic(self) -> float:
        return time.perf_counter()


class FrozenClock:
    """A clock that always reads the same instant; ``monotonic`` advances by ``step`` per call."""

    def __init__(self, instant: str = "2026-11-25T12:00:00.000Z", step: float = 0.0) -> None:
        self.instant = instant
        self.step = step
        self._tick = 0.0

    def now_iso(self) -> str:
        return self.instant

    def monotonic(self) -> float:
        self._tick += self.step
        return self._tick
