"""The narrow interface the sync engine needs from durable state: SQLite today, PostgreSQL later."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from brygga.accountstate import AdapterStateStore
from brygga.store.bindings import Binding
from brygga.store.catalog import Reads
from brygga.store.events import Event
from brygga.store.limiters import LimiterMemory, SavedWindow
from brygga.store.outcomes import Outcome
from brygga.store.workitems import Discovered, Intent, WorkItem

__all__ = [
    "AdapterStateStore",
    "BindingStore",
    "CursorStore",
    "EventLog",
    "LimiterStore",
    "StateStore",
    "StatusStore",
    "WorkQueue",
]


class WorkQueue(Protocol):
    """Work items: discovered records, claimed by workers, finished by an outcome."""

    async def enqueue_many(
        self,
        *,
        connection: str,
        register: str,
        instance: str,
        records: Sequence[Discovered],
        now: datetime,
        bound_changes: str = "",
    ) -> int: ...

    async def claim(
        self,
        *,
        connection: str,
        register: str,
        now: datetime,
        run_id: str,
        intent: Intent | None = None,
        binds: str = "",
        reads: Reads | None = None,
    ) -> WorkItem | None: ...

    async def claim_many(
        self,
        *,
        connection: str,
        register: str,
        now: datetime,
        run_id: str,
        limit: int,
        intent: Intent | None = None,
        binds: str = "",
        reads: Reads | None = None,
    ) -> list[WorkItem]: ...

    async def claim_one(
        self,
        item_id: int,
        *,
        now: datetime,
        run_id: str,
        intent: Intent | None = None,
        binds: str = "",
        reads: Reads | None = None,
    ) -> WorkItem | None: ...

    async def apply(self, item: WorkItem, outcome: Outcome, now: datetime) -> None: ...

    async def apply_many(
        self, pairs: Sequence[tuple[WorkItem, Outcome]], now: datetime
    ) -> None: ...

    async def apply_and_claim(
        self,
        pairs: Sequence[tuple[WorkItem, Outcome]],
        now: datetime,
        *,
        connection: str,
        register: str,
        run_id: str,
        limit: int,
        intent: Intent | None = None,
        binds: str = "",
        reads: Reads | None = None,
    ) -> list[WorkItem]: ...

    async def recover(
        self, *, connection: str, run_id: str, now: datetime, settle: float = 0.0
    ) -> int: ...

    async def next_due(self, *, connection: str, register: str) -> datetime | None: ...

    async def wake_waiting(self, *, connection: str, register: str, at: datetime) -> int: ...

    async def counts(self, connection: str) -> dict[tuple[str, str], int]: ...

    async def get(self, item_id: int) -> WorkItem | None: ...


class BindingStore(Protocol):
    async def target_of(
        self, connection: str, entity: str, source_instance: str, source_id: str
    ) -> Binding | None: ...


class CursorStore(Protocol):
    async def get(self, connection: str, instance: str, register: str) -> str | None: ...

    async def set(
        self, connection: str, instance: str, register: str, position: str, now: datetime
    ) -> None: ...


class StatusStore(Protocol):
    async def poll_works(
        self, connection: str, register: str, instance: str, now: datetime
    ) -> None: ...

    async def poll_failed(
        self, connection: str, register: str, instance: str, error: str, now: datetime
    ) -> None: ...


class EventLog(Protocol):
    async def add(self, event: Event) -> None: ...


class LimiterStore(Protocol):
    """What the daemon keeps of its account rate limiters across restarts (not used by the
    engine: the runtime reads it at start and writes it while busy and at a clean stop).

    Contract: :meth:`save` and :meth:`exchange` store their windows and lease (or clean stop)
    in one transaction, or nothing (an exchange reads in the same transaction); :meth:`begin`
    marks a process as running with no lease; a lease only grows."""

    async def load(self) -> LimiterMemory: ...

    async def begin(self, run_id: str, now: datetime, *, unknown_until: float | None) -> None: ...

    async def renew(self, lease_until: float) -> None: ...

    async def save(
        self,
        windows: Sequence[SavedWindow],
        now: datetime,
        *,
        lease_until: float | None = None,
        stopped: bool = False,
    ) -> None: ...

    async def merge(self, windows: Sequence[SavedWindow], now: datetime) -> None:
        """Add windows to the stored ones, taking nothing away (a process without the row)."""
        ...

    async def exchange(
        self,
        windows: Sequence[SavedWindow],
        written: Mapping[str, Sequence[float]],
        now: datetime,
        *,
        lease_until: float | None = None,
        stopped: bool = False,
        keep_count: bool = True,
    ) -> LimiterMemory:
        """One transaction: read every stored window, write ``windows`` (this process's own
        sends) with the others' sends (stored less ``written``, as a multiset), and the lease
        or the clean stop as :meth:`save`; return what was read with the others' sends only
        (processes sharing accounts: the daemon beside ``brygga sync products``)."""
        ...


class StateStore(Protocol):
    """What the engine, pollers, workers and adapters may use of durable state.

    A work queue (``items``), bindings, cursors, register health (``status``), the event log
    and per-account adapter state, plus a wake-up on writes by other processes.
    :class:`brygga.store.Store` (one SQLite file) satisfies it, checked by mypy in
    ``brygga.store``; a PostgreSQL store for several daemons sharing connections is one more
    class with these methods. The operator commands (``errors``, ``replay``, ``status``) use more
    of ``Store`` (queries, requeue, resolve, prune), which is not part of this interface.

    Contract of every write: one transaction, durable when the call returns; an item is claimed
    by at most one worker at a time; enqueueing is idempotent per (connection, register,
    instance, external id), and a reopening (catalog) record with a newer source time queues
    its item again; an outcome (state, binding, events, follow-ups, health, written content
    hash, order lines) is applied all at once or not at all.
    """

    @property
    def items(self) -> WorkQueue: ...

    @property
    def bindings(self) -> BindingStore: ...

    @property
    def cursors(self) -> CursorStore: ...

    @property
    def status(self) -> StatusStore: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def adapter_state(self) -> AdapterStateStore: ...

    async def wait_for_external_change(self, poll: float = 1.0) -> None: ...

    async def close(self) -> None: ...
