"""Test doubles for the runtime tests: a clock that only moves by hand, and named targets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio

__all__ = ["FakeTarget", "ManualClock"]


@dataclass(frozen=True)
class FakeTarget:
    name: str
    fingerprint: str = "v1"


class ManualClock:
    """``sleep()`` blocks until the test calls ``advance()`` past its deadline; every sleep
    request is visible, so a test can wait for "someone is sleeping 2 s" and then move time."""

    def __init__(self) -> None:
        self._mono = 0.0
        self._start = datetime(2026, 1, 1, tzinfo=UTC)
        self._sleepers: list[tuple[float, float, anyio.Event]] = []
        self._changed = anyio.Event()
        self.requested: list[float] = []

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._mono)

    def monotonic(self) -> float:
        return self._mono

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def sleep(self, seconds: float) -> None:
        self.requested.append(seconds)
        if seconds <= 0:
            self._notify()
            await anyio.lowlevel.checkpoint()
            return
        entry = (self._mono + seconds, seconds, anyio.Event())
        self._sleepers.append(entry)
        self._notify()
        try:
            await entry[2].wait()
        finally:
            if entry in self._sleepers:
                self._sleepers.remove(entry)

    def pending(self) -> list[float]:
        """Requested durations of the sleeps not yet woken."""
        return [seconds for _, seconds, _ in self._sleepers]

    async def wait_sleeping(self, seconds: float) -> None:
        """Return once some task sleeps exactly ``seconds`` (requested) and is not yet woken."""
        while seconds not in self.pending():
            changed = self._changed
            await changed.wait()

    def advance(self, seconds: float) -> None:
        self._mono += seconds
        for entry in list(self._sleepers):
            if entry[0] <= self._mono + 1e-9:
                self._sleepers.remove(entry)
                entry[2].set()
