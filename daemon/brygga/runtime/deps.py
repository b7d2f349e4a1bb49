"""One set of dependencies per process: the store, the HTTP context (and its clock), the RNG."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from brygga.clock import Clock
from brygga.config import ResolvedConnection
from brygga.http.client import HttpContext
from brygga.mappings import Mapping
from brygga.store import Store
from brygga.sync.flow import Flow
from brygga.sync.observer import FlowObserver
from brygga.sync.wiring import open_flow

__all__ = ["Deps"]


@dataclass(kw_only=True)
class Deps:
    """What a composition root (the daemon's :func:`~brygga.runtime.app.serve`, ``replay
    --here``, :class:`~brygga.testing.SimulatedConnection`) builds once and passes down.

    There is one clock, the HTTP context's: the engine, the pollers, the supervisor, the rate
    limiters and the token cache all run on it, so a test's FakeClock reaches every one of
    them and no two parts disagree about the time. ``rng`` draws every jitter (work-item retry
    and poll backoff, connection restarts); a test may seed it.
    """

    store: Store
    http: HttpContext
    #: the one default random source of a process (nothing below makes its own)
    rng: random.Random = field(default_factory=random.Random)

    @property
    def clock(self) -> Clock:
        """The one clock: ``http.clock`` (build the HttpContext with a FakeClock to fake it)."""
        return self.http.clock

    def open_flow(
        self,
        conn: ResolvedConnection,
        *,
        run_id: str,
        mappings: Sequence[Mapping] = (),
        observer: FlowObserver | None = None,
    ) -> Flow:
        """The connection's flow on these dependencies (:func:`brygga.sync.wiring.open_flow`)."""
        return open_flow(
            conn,
            store=self.store,
            http=self.http,
            clock=self.clock,
            rng=self.rng,
            run_id=run_id,
            mappings=mappings,
            observer=observer,
        )
