"""Durable state in one SQLite file; the only package that imports aiosqlite."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import anyio

from brygga.store.adapterstate import AdapterState
from brygga.store.bindings import Binding, Bindings
from brygga.store.catalog import OrderLines, PendingOrder, Reads, Reservations
from brygga.store.cursors import Cursors
from brygga.store.db import Database
from brygga.store.events import Event, Events
from brygga.store.interface import LimiterStore, StateStore
from brygga.store.limiters import LimiterMemory, LimiterRun, LimiterState, SavedWindow
from brygga.store.outcomes import FollowUp, Health, Outcome
from brygga.store.status import RegisterStatus, StatusBoard
from brygga.store.workitems import (
    Discovered,
    Enqueued,
    Intent,
    ItemState,
    WorkItem,
    WorkItems,
    work_key,
)

__all__ = [
    "AdapterState",
    "Binding",
    "Discovered",
    "Enqueued",
    "Event",
    "FollowUp",
    "Health",
    "Intent",
    "ItemState",
    "LimiterMemory",
    "LimiterRun",
    "LimiterState",
    "LimiterStore",
    "OrderLines",
    "Outcome",
    "PendingOrder",
    "Reads",
    "RegisterStatus",
    "Reservations",
    "SavedWindow",
    "StateStore",
    "Store",
    "WorkItem",
    "work_key",
]


class Store:
    """The state file, with one accessor per table family."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.items = WorkItems(db)
        self.cursors = Cursors(db)
        self.bindings = Bindings(db)
        self.events = Events(db)
        self.status = StatusBoard(db)
        self.adapter_state = AdapterState(db)
        self.limiters = LimiterState(db)

    @classmethod
    async def open(cls, path: Path) -> Store:
        return cls(await Database.open(path))

    async def prune_history(self, older_than: datetime) -> tuple[int, int]:
        """Forget finished records and events older than ``older_than`` (``[daemon]
        keep_history``); returns (records, events) removed. Bindings and failed records stay."""
        return await self.items.prune(older_than), await self.events.prune(older_than)

    async def wait_for_external_change(self, poll: float = 1.0) -> None:
        """Return once another connection (the CLI's ``errors retry``, another process) has
        committed a write to the file since this call began; this connection's own writes do
        not count. It reads SQLite's ``PRAGMA data_version`` every ``poll`` seconds: one task
        per process waits here and wakes the idle workers, instead of each polling the queue."""
        start = await self.db.data_version()
        while True:
            await anyio.sleep(poll)
            if await self.db.data_version() != start:
                return

    async def close(self) -> None:
        await self.db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _satisfies_the_interface(store: Store) -> StateStore:
    return store  # mypy checks that Store implements StateStore (never called)


def _keeps_limiter_state(store: Store) -> LimiterStore:
    return store.limiters  # mypy checks that LimiterState implements LimiterStore (never called)
