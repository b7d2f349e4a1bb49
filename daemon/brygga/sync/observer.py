"""What flows report as they work (metrics and the demo's live view listen)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["FanoutObserver", "FlowObserver", "NullObserver"]


class FlowObserver(Protocol):
    def item_finished(self, connection: str, register: str, outcome: str) -> None:
        """A work item reached ``outcome`` (done, failed, skipped, retry, waiting)."""

    def transferred(self, connection: str, register: str, latency_seconds: float) -> None:
        """A record reached the other side; latency from its creation at the source."""


class NullObserver:
    def item_finished(self, connection: str, register: str, outcome: str) -> None:
        return None

    def transferred(self, connection: str, register: str, latency_seconds: float) -> None:
        return None


class FanoutObserver:
    """Passes every report to several observers."""

    def __init__(self, observers: Sequence[FlowObserver]) -> None:
        self._observers = tuple(observers)

    def item_finished(self, connection: str, register: str, outcome: str) -> None:
        for observer in self._observers:
            observer.item_finished(connection, register, outcome)

    def transferred(self, connection: str, register: str, latency_seconds: float) -> None:
        for observer in self._observers:
            observer.transferred(connection, register, latency_seconds)
