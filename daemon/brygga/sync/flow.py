"""A connection's wired flow: its engine, discoverers, worker counts and adapters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio

from brygga.adapters import ErpAdapter, ShopAdapter
from brygga.clock import Clock
from brygga.store import ItemState, Store, WorkItem
from brygga.sync.engine import Discoverer, Engine, Handler
from brygga.sync.observer import FlowObserver

__all__ = ["Flow", "PlanRow"]


@dataclass(frozen=True)
class PlanRow:
    """One register's part of a connection: its handlers, discoverers and workers."""

    handlers: Sequence[Handler]
    discoverers: Sequence[Discoverer] = ()
    #: register → how many workers claim its items
    workers: Mapping[str, int] = field(default_factory=dict)
    #: register → how many items a worker claims and finishes per transaction (default 1)
    batch: Mapping[str, int] = field(default_factory=dict)
    #: (what, step) run once when the runtime starts the connection, before its workers;
    #: each returns how many items it queued
    startup: Sequence[tuple[str, Callable[[], Awaitable[int]]]] = ()


class Flow:
    """One connection, wired: the runtime starts a poller per discoverer and instance and the
    planned workers per register; tests drive it by hand (``poll_once``, ``claim``,
    ``process``)."""

    def __init__(
        self,
        *,
        engine: Engine,
        rows: Sequence[PlanRow],
        erp: ErpAdapter,
        shops: Mapping[str, ShopAdapter],
        settle: float = 60.0,
    ) -> None:
        self.engine = engine
        self.rows = tuple(rows)
        self.erp = erp
        self.shops = shops
        #: seconds an in-doubt write is given to land (items left in flight wait this long)
        self.settle = settle
        self._pokes: dict[tuple[str, str], anyio.Event] = {}
        self._last_notice: datetime | None = None

    # -- the plan --------------------------------------------------------------------------

    @property
    def discoverers(self) -> list[Discoverer]:
        return [d for row in self.rows for d in row.discoverers]

    @property
    def workers(self) -> dict[str, int]:
        return {r: n for row in self.rows for r, n in row.workers.items()}

    @property
    def startup(self) -> list[tuple[str, Callable[[], Awaitable[int]]]]:
        return [step for row in self.rows for step in row.startup]

    @property
    def batch(self) -> dict[str, int]:
        return {r: n for row in self.rows for r, n in row.batch.items()}

    @property
    def connection(self) -> str:
        return self.engine.connection

    @property
    def store(self) -> Store:
        return self.engine.store

    @property
    def clock(self) -> Clock:
        return self.engine.clock

    @property
    def run_id(self) -> str:
        return self.engine.run_id

    @property
    def observer(self) -> FlowObserver:
        return self.engine.observer

    @observer.setter
    def observer(self, observer: FlowObserver) -> None:
        self.engine.observer = observer

    @property
    def options(self) -> Any:
        """The register options the handlers and discoverers share (tests replace them)."""
        return next(p.options for p in self._parts() if hasattr(p, "options"))

    @options.setter
    def options(self, options: Any) -> None:
        for part in self._parts():
            if isinstance(getattr(part, "options", None), type(options)):
                part.options = options  # type: ignore[attr-defined]

    def _parts(self) -> list[object]:
        return [*self.engine.handlers.values(), *self.discoverers]

    # -- discovery -------------------------------------------------------------------------

    async def poll(self, discoverer: Discoverer, instance: str) -> int:
        """Poll one feed once; wake the workers when it recorded work."""
        created = await discoverer.discover(instance)
        if created:
            self.engine.wake()
        return created

    async def poll_once(self, instance: str) -> int:
        """Poll every feed of ``instance`` once; return how many items were new."""
        created = 0
        for discoverer in self.discoverers:
            if instance in discoverer.instances:
                created += await self.poll(discoverer, instance)
        return created

    def poke(self, instance: str) -> None:
        """Something changed at ``instance`` (webhook) or the daemon is stopping: every feed
        of ``instance`` polls now."""
        for discoverer in self.discoverers:
            if instance in discoverer.instances:
                self._poke_event(discoverer, instance).set()

    async def wait_for_poke(self, discoverer: Discoverer, instance: str, seconds: float) -> None:
        """Sleep until the feed's next poll is due or a poke arrives, whichever is first."""
        event = self._poke_event(discoverer, instance)
        with anyio.move_on_after(seconds):
            await event.wait()
        if event.is_set():
            self._pokes[discoverer.register, instance] = anyio.Event()

    def _poke_event(self, discoverer: Discoverer, instance: str) -> anyio.Event:
        return self._pokes.setdefault((discoverer.register, instance), anyio.Event())

    # -- work ------------------------------------------------------------------------------

    async def claim(self, register: str | None = None) -> WorkItem | None:
        """Claim the next due item of ``register`` (the plan's first register by default)."""
        return await self.engine.claim(register or next(iter(self.engine.handlers)))

    async def process(self, item: WorkItem) -> ItemState:
        return await self.engine.process(item)

    def wake(self) -> None:
        self.engine.wake()

    async def erp_notice(self, register: str, min_gap: float) -> int:
        """The ERP said something changed (its webhook): the register's waiting items (the
        watched documents) are looked at now, or ``min_gap`` seconds after the previous
        notice's look, so a burst of notices costs one look. Returns how many items moved."""
        now = self.clock.now()
        at = max(now, self._last_notice + timedelta(seconds=min_gap)) if self._last_notice else now
        moved = await self.store.items.wake_waiting(
            connection=self.connection, register=register, at=at
        )
        if moved:  # a notice that found every item due by then already books no look
            self._last_notice = at
            self.engine.wake()
        return moved

    async def aclose(self) -> None:
        """Close the connection's adapters."""
        await self.erp.aclose()
        for shop in self.shops.values():
            await shop.aclose()
