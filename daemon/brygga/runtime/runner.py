"""The contract between the supervisor and the connection runners it runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeAlias, TypeVar

import anyio

__all__ = [
    "ConnectionStatus",
    "ReloadResult",
    "Runner",
    "StopToken",
    "T",
    "Target",
    "describe_error",
]


class Target(Protocol):
    """What the supervisor runs: anything named and fingerprinted (the daemon passes
    ``brygga.config.ResolvedConnection``). Equal fingerprints mean "nothing changed"."""

    @property
    def name(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...


T = TypeVar("T", bound=Target)


class StopToken:
    """Handed to a runner as its second argument.

    A runner watches it (``await token.wait()`` in a task, or ``token.stop_requested`` between
    items) and, once asked, finishes or checkpoints its in-flight items and returns. Runners
    that ignore it are cancelled when the grace period ends.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._event = anyio.Event()

    @property
    def stop_requested(self) -> bool:
        return self._event.is_set()

    def is_set(self) -> bool:
        """Same as :attr:`stop_requested` (so the token fits an ``Event``-like protocol)."""
        return self._event.is_set()

    async def wait(self) -> None:
        """Return once the runner is asked to stop."""
        await self._event.wait()

    def request_stop(self) -> None:
        self._event.set()


#: ``async def runner(target, token) -> None``: runs one connection until it fails or is stopped.
Runner: TypeAlias = Callable[[T, StopToken], Awaitable[None]]


@dataclass(frozen=True)
class ConnectionStatus:
    """A snapshot of one connection, for /readyz and ``brygga status``."""

    name: str
    fingerprint: str
    #: the runner is running now (False while backing off after a failure, or once stopped)
    started: bool
    #: failed and not yet recovered (recovery: a run that stays up for ``stable_after``)
    failing: bool
    #: ended for good: stopped on request, or its runner returned on its own
    stopped: bool
    restarts: int
    last_error: str | None
    last_failure_at: datetime | None


@dataclass(frozen=True)
class ReloadResult:
    started: tuple[str, ...]
    stopped: tuple[str, ...]
    restarted: tuple[str, ...]
    unchanged: tuple[str, ...]


def describe_error(exc: BaseException) -> str:
    """``Type: message`` of the first leaf of an exception (group); safe for BryggaErrors."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
