"""Work items: durable, idempotent units of work with a state machine and attempt history."""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from brygga.store.catalog import Reads, Reservations, read_reservations, read_written
from brygga.store.db import PRUNE_BATCH, Database, Row, Tx, from_ts, to_ts
from brygga.store.keys import work_key
from brygga.store.outcomes import Outcome, apply_outcome

__all__ = [
    "CLOCK_SLACK",
    "FINAL",
    "IN_FLIGHT",
    "RUNNABLE",
    "Ahead",
    "Discovered",
    "Enqueued",
    "Intent",
    "ItemState",
    "Rewound",
    "WorkItem",
    "WorkItems",
    "work_key",
]

log = logging.getLogger(__name__)

#: a record whose ``updated_at`` lies more than this many seconds ahead of the clock was
#: written under a clock that has since gone back (see :meth:`WorkItems.rewind_future`)
CLOCK_SLACK = 60.0


class ItemState(enum.StrEnum):
    #: seen, but not ready for transfer yet (e.g. unpaid); looked at again at next_attempt
    WAITING = "waiting"
    NEW = "new"
    #: intent recorded, the remote call may or may not have happened
    SENDING = "sending"
    #: found in SENDING after a restart: look the reference up before sending again
    RECONCILE = "reconcile"
    RETRY = "retry"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    #: a person closed it (``errors resolve``, with a note): final, never picked up again
    RESOLVED = "resolved"


#: states a worker may pick up (when next_attempt is due)
RUNNABLE = (ItemState.WAITING, ItemState.NEW, ItemState.RETRY, ItemState.RECONCILE)
FINAL = (ItemState.DONE, ItemState.FAILED, ItemState.SKIPPED, ItemState.RESOLVED)
#: a worker holds the item (or held it when its process stopped)
IN_FLIGHT = (ItemState.SENDING, ItemState.RECONCILE)


@dataclass(frozen=True)
class WorkItem:
    id: int
    connection: str
    register: str
    instance: str
    external_id: str
    state: ItemState
    attempts: int
    next_attempt: datetime
    last_error: str
    reference: str
    result: str
    payload: bytes | None
    run_id: str
    source_time: str
    created_at: datetime
    updated_at: datetime
    #: an earlier write's outcome is unknown: until then an empty lookup allows no new send
    doubt_until: datetime | None = None
    #: the reference this claim recorded (``claim(..., intent=...)``), "" otherwise; the item's
    #: ``reference`` stays the one stored before the claim (an earlier attempt's intent)
    intent: str = ""
    #: the target this item's source record is bound to (``claim(..., binds=entity)``), read
    #: in the claim's transaction; "" when unbound or not asked for
    bound: str = ""
    #: a newer change of the record queues the item again, also once it finished (catalog
    #: items, see :attr:`Discovered.reopen`); orders never reopen
    reopens: bool = False
    #: the content hash last written under this item's key (``claim(..., reads=Reads(
    #: written=True))``), "" when nothing was written yet or not asked for
    written: str = ""
    #: stock of the item's SKU held by unfinished orders (``Reads(reserved_by=...)``)
    reserved: Reservations | None = None
    #: register → what was written under it for the same record (``Reads(written_of=...)``)
    written_of: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Row) -> WorkItem:
        return cls(
            id=row["id"],
            connection=row["connection"],
            register=row["register"],
            instance=row["instance"],
            external_id=row["external_id"],
            state=ItemState(row["state"]),
            attempts=row["attempts"],
            next_attempt=from_ts(row["next_attempt"]),
            last_error=row["last_error"],
            reference=row["reference"],
            result=row["result"],
            payload=row["payload"],
            run_id=row["run_id"],
            source_time=row["source_time"],
            created_at=from_ts(row["created_at"]),
            updated_at=from_ts(row["updated_at"]),
            doubt_until=from_ts(row["doubt_until"]) if row["doubt_until"] else None,
            reopens=bool(row["reopens"]),
        )


@dataclass(frozen=True)
class Rewound:
    """What :meth:`WorkItems.rewind_future` moved: how many records, and how far ahead of the
    clock the furthest of them was written."""

    rows: int = 0
    ahead: timedelta = timedelta(0)

    def describe(self) -> str:
        return (
            f"{self.rows} record(s) were written up to {_span(self.ahead)} ahead of this host's "
            "clock (the clock was put back): moved back by as much, so nothing waits for the "
            "clock to catch up; check the host's clock (NTP)"
        )


@dataclass(frozen=True)
class Ahead:
    """Unfinished records of one register written ahead of the clock (``brygga status``)."""

    rows: int
    #: the latest ``next_attempt`` among them
    due: datetime


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Enqueued(enum.Enum):
    CREATED = "created"
    #: already known and still pending: nothing changed
    UNCHANGED = "unchanged"
    #: was waiting and is now ready: promoted to NEW
    PROMOTED = "promoted"
    #: already final (done/failed/skipped/resolved): a re-seen record is a no-op
    FINAL = "final"
    #: a reopening record (:attr:`Discovered.reopen`) changed since its item finished: NEW
    REOPENED = "reopened"


@dataclass(frozen=True)
class Discovered:
    """One record a poller found, for :meth:`WorkItems.enqueue_many`."""

    external_id: str
    #: False: recorded as WAITING (looked at again later); True: NEW, or promotes a WAITING one
    ready: bool
    #: when the source last changed the record (kept as the item's ``source_time``)
    source_time: datetime | None = None
    payload: bytes | None = None
    #: a catalog record (an article, a stock level for one target): a change with a newer
    #: ``source_time`` queues its item again, also once it finished (the newer payload
    #: replaces the old one); an item in flight is queued again when its attempt finishes.
    #: False (orders): a re-seen record is a no-op once its item is known.
    reopen: bool = False


#: a function of the claimed item that returns the reference to record with the claim
Intent = Callable[[WorkItem], str]


class WorkItems:
    """Queries on ``work_items`` and ``attempts``. All state changes are single transactions."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(
        self,
        *,
        connection: str,
        register: str,
        instance: str,
        external_id: str,
        now: datetime,
        ready: bool,
        source_time: datetime | None = None,
        payload: bytes | None = None,
    ) -> Enqueued:
        """Record a record as work, idempotently (unique key). A record seen again is a no-op,
        except that a WAITING item becomes NEW once the record is ready."""
        record = Discovered(external_id, ready, source_time, payload)
        return await self._db.run(
            lambda tx: _enqueue(tx, connection, register, instance, record, to_ts(now))
        )

    async def enqueue_many(
        self,
        *,
        connection: str,
        register: str,
        instance: str,
        records: Sequence[Discovered],
        now: datetime,
        bound_changes: str = "",
    ) -> int:
        """:meth:`enqueue` for a whole page of records in one transaction; returns how many
        items were created or promoted from WAITING to NEW (the rest were already known).

        ``bound_changes``: a register that also gets a reopening item (same id, source time)
        for each record already bound under ``register``'s entity: a change of a record
        after its transfer (the orders flow's check of orders changed in the shop). Those
        are not counted: they are no new records, and they are not urgent (a worker finds
        them when it next looks for due work)."""
        stamp = to_ts(now)

        def body(tx: Tx) -> int:
            changed = (_enqueue(tx, connection, register, instance, r, stamp) for r in records)
            new = sum(1 for e in changed if e in _NEW_WORK)
            if bound_changes:
                for record in records:
                    if not _is_bound(tx, connection, register, instance, record.external_id):
                        continue
                    again = dataclasses.replace(record, ready=True, payload=None, reopen=True)
                    _enqueue(tx, connection, bound_changes, instance, again, stamp)
            return new

        return await self._db.run(body) if records else 0

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
    ) -> WorkItem | None:
        """Take the next due item and mark it SENDING for this run (one transaction).

        The returned item's ``state`` is WAITING or RECONCILE when it was claimed from those
        states. Its ``reference`` is the one stored before this claim: non-empty means an
        earlier attempt recorded its intent (the document may exist).

        ``intent``: called with that item inside the claim's transaction; a non-empty result is
        recorded as the item's reference in the same transaction (durable before any remote
        call, at no extra transaction) and returned as the item's ``intent``. An outcome with
        ``revisit`` (nothing was sent) withdraws the intent this claim recorded: the stored
        reference goes back to the item's ``reference``, and so does one with
        ``withdraw_intent`` (it failed before anything was sent). Other outcomes keep it, so
        the next attempt looks it up first; a restart that finds the item in flight treats it
        as in doubt.

        ``binds``: a binding entity (e.g. ``"orders"``); the target the item's source record
        is bound to is read in the same transaction and returned as the item's ``bound``.

        ``reads``: catalog state read in the same transaction (``written``, ``reserved``).
        """
        items = await self.claim_many(
            connection=connection,
            register=register,
            now=now,
            run_id=run_id,
            limit=1,
            intent=intent,
            binds=binds,
            reads=reads,
        )
        return items[0] if items else None

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
    ) -> list[WorkItem]:
        """Claim up to ``limit`` due items, oldest due first, in one transaction (batch
        workers); each is what :meth:`claim` would return, with its own attempt."""
        stamp = to_ts(now)
        return await self._db.run(
            lambda tx: _claim_due(
                tx, connection, register, stamp, run_id, limit, intent, binds, reads
            )
        )

    async def claim_one(
        self,
        item_id: int,
        *,
        now: datetime,
        run_id: str,
        intent: Intent | None = None,
        binds: str = "",
        reads: Reads | None = None,
    ) -> WorkItem | None:
        """Claim this one item if it is runnable, due or not (``replay order --here``).

        Same contract as :meth:`claim`; None when the item is missing or not runnable.
        """
        stamp = to_ts(now)
        marks = ", ".join("?" for _ in RUNNABLE)

        def body(tx: Tx) -> WorkItem | None:
            row = tx.execute(
                f"SELECT id, state FROM work_items WHERE id = ? AND state IN ({marks})",
                (item_id, *(s.value for s in RUNNABLE)),
            ).fetchone()
            if row is None:
                return None
            state = ItemState(row["state"])
            return _take(tx, item_id, state, stamp, run_id, intent, binds, reads)

        return await self._db.run(body)

    async def apply(self, item: WorkItem, outcome: Outcome, now: datetime) -> None:
        """Apply a worker's outcome for a claimed item: one transaction for all of it."""
        await self.apply_many(((item, outcome),), now)

    async def apply_many(self, pairs: Sequence[tuple[WorkItem, Outcome]], now: datetime) -> None:
        """:meth:`apply` for several claimed items in one transaction (all or none)."""
        if pairs:
            await self._db.run(lambda tx: _apply(tx, pairs, now))

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
    ) -> list[WorkItem]:
        """:meth:`apply_many`, then :meth:`claim_many` of the next due items, in ONE
        transaction: a worker that goes on finishes one item and takes the next with one
        commit. ``limit`` 0 claims nothing."""
        stamp = to_ts(now)

        def body(tx: Tx) -> list[WorkItem]:
            _apply(tx, pairs, now)
            if limit <= 0:
                return []
            return _claim_due(tx, connection, register, stamp, run_id, limit, intent, binds, reads)

        return await self._db.run(body)

    async def finish(
        self,
        item_id: int,
        state: ItemState,
        now: datetime,
        *,
        result: str = "",
        error: str = "",
        next_attempt: datetime | None = None,
    ) -> None:
        """Move an item to its next state and close the running attempt (no side effects)."""
        outcome = Outcome(state=state.value, error=error, result=result, next_attempt=next_attempt)
        await self._db.run(
            lambda tx: apply_outcome(
                tx,
                item_id=item_id,
                connection="",
                register="",
                instance="",
                external_id="",
                outcome=outcome,
                now=now,
            )
        )

    async def recover(
        self, *, connection: str, run_id: str, now: datetime, settle: float = 0.0
    ) -> int:
        """Items left in flight by another run (a killed process, or this connection before
        it was restarted) must be reconciled. One whose intent was recorded may still land:
        an empty lookup allows a new send only ``settle`` seconds from now."""
        stamp = to_ts(now)
        doubt = to_ts(now + timedelta(seconds=settle))

        def body(tx: Tx) -> tuple[int, Rewound]:
            # records written under a clock that has since gone back: due again from now
            rewound = _rewind(tx, now, connection, CLOCK_SLACK)
            tx.execute(
                "UPDATE attempts SET finished_at = ?, outcome = 'interrupted'"
                " WHERE finished_at IS NULL AND work_item_id IN (SELECT id FROM work_items"
                " WHERE connection = ? AND state IN ('sending', 'reconcile') AND run_id != ?)",
                (stamp, connection, run_id),
            )
            return tx.execute(
                "UPDATE work_items SET state = 'reconcile', next_attempt = ?, updated_at = ?,"
                " doubt_until = CASE WHEN reference = '' THEN doubt_until ELSE ? END"
                " WHERE connection = ? AND state IN ('sending', 'reconcile') AND run_id != ?",
                (stamp, stamp, doubt, connection, run_id),
            ).rowcount, rewound

        count, rewound = await self._db.run(body)
        if rewound.rows:
            log.warning("%s: %s", connection, rewound.describe())
        return count

    async def rewind_future(
        self, now: datetime, *, connection: str | None = None, slack: float = CLOCK_SLACK
    ) -> Rewound:
        """Bring back records written under a clock that has since gone back (their
        ``updated_at`` more than ``slack`` seconds after ``now``), in one transaction: each
        one's ``next_attempt`` moves back by as much as the record is ahead (never before
        ``now``), ``created_at`` and ``done_at`` too when they lie ahead, and ``updated_at``
        becomes ``now``. Without it, work written during a jump ahead waits for the clock to
        catch up, and records finished then are kept that much longer. ``connection``: only
        that connection's records (None: all)."""
        return await self._db.run(lambda tx: _rewind(tx, now, connection, slack))

    async def ahead(
        self, connection: str, now: datetime, *, slack: float = CLOCK_SLACK
    ) -> dict[str, Ahead]:
        """register → the connection's unfinished records written more than ``slack`` seconds
        ahead of ``now`` (the clock went back and no daemon has moved them yet)."""
        rows = await self._db.fetchall(
            "SELECT register, COUNT(*) AS n, MAX(next_attempt) AS due FROM work_items"
            " WHERE connection = ? AND updated_at > ? AND state IN"
            " ('waiting', 'new', 'retry', 'reconcile', 'sending') GROUP BY register",
            (connection, to_ts(now + timedelta(seconds=slack))),
        )
        return {row["register"]: Ahead(int(row["n"]), from_ts(row["due"])) for row in rows}

    async def prune(self, older_than: datetime, *, batch: int = PRUNE_BATCH) -> int:
        """Forget finished records (done, skipped, resolved) older than ``older_than``, with
        their attempts; failed ones stay in the error queue until a person resolves them.
        Bindings are kept: they are what makes a transfer exactly once. Returns how many.

        ``batch`` records per transaction, so a large prune (a first one on a busy file, a
        shorter ``keep_history``) never holds the file for long: other work runs between the
        batches, and a stop between two of them leaves a consistent file."""
        return await self._db.delete_in_batches(
            "DELETE FROM work_items WHERE id IN (SELECT id FROM work_items"
            " WHERE done_at IS NOT NULL AND done_at < ?"
            " AND state IN ('done', 'skipped', 'resolved') LIMIT ?)",
            (to_ts(older_than),),
            batch,
        )

    async def get(self, item_id: int) -> WorkItem | None:
        row = await self._db.fetchone("SELECT * FROM work_items WHERE id = ?", (item_id,))
        return WorkItem.from_row(row) if row else None

    async def find(
        self, *, connection: str, register: str, instance: str, external_id: str
    ) -> WorkItem | None:
        row = await self._db.fetchone(
            "SELECT * FROM work_items WHERE idempotency_key = ?",
            (work_key(connection, register, instance, external_id),),
        )
        return WorkItem.from_row(row) if row else None

    async def query(
        self,
        *,
        states: Sequence[ItemState] = (),
        connection: str | None = None,
        limit: int = 1000,
    ) -> list[WorkItem]:
        clauses: list[str] = []
        params: list[object] = []
        if states:
            clauses.append(f"state IN ({', '.join('?' for _ in states)})")
            params.extend(s.value for s in states)
        if connection is not None:
            clauses.append("connection = ?")
            params.append(connection)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._db.fetchall(
            f"SELECT * FROM work_items {where} ORDER BY id LIMIT ?", (*params, limit)
        )
        return [WorkItem.from_row(row) for row in rows]

    async def requeue(
        self, item_id: int, now: datetime, *, from_states: Sequence[ItemState]
    ) -> bool:
        """Put an item back in the queue (``errors retry``), with a fresh retry budget; True if
        it was in ``from_states``."""
        marks = ", ".join("?" for _ in from_states)
        changed = await self._db.execute(
            f"UPDATE work_items SET state = 'new', attempts = 0, next_attempt = ?,"
            f" updated_at = ?, done_at = NULL WHERE id = ? AND state IN ({marks})",
            (to_ts(now), to_ts(now), item_id, *(s.value for s in from_states)),
        )
        return changed > 0

    async def reopen(
        self,
        item_id: int,
        now: datetime,
        *,
        from_states: Sequence[ItemState],
        payload: bytes | None,
    ) -> bool:
        """Like :meth:`requeue`, and replace the payload (a forced replay's generation, a new
        document number to write back). The recorded reference is kept: a worker that finds
        one looks it up before sending. True if the item was in ``from_states``."""
        marks = ", ".join("?" for _ in from_states)
        changed = await self._db.execute(
            f"UPDATE work_items SET state = 'new', attempts = 0, payload = ?, next_attempt = ?,"
            f" updated_at = ?, done_at = NULL WHERE id = ? AND state IN ({marks})",
            (payload, to_ts(now), to_ts(now), item_id, *(s.value for s in from_states)),
        )
        return changed > 0

    async def resolve(
        self,
        item_id: int,
        note: str,
        now: datetime,
        *,
        from_states: Sequence[ItemState],
        payload: bytes | None = None,
    ) -> bool:
        """Close an item by hand (``errors resolve``): state RESOLVED, the note as its result;
        ``payload`` (when given) replaces the item's, in the same statement (a pending forced
        replay dropped). True if it was in ``from_states``; claimed items are never in a
        resolvable state."""
        marks = ", ".join("?" for _ in from_states)
        changed = await self._db.execute(
            f"UPDATE work_items SET state = 'resolved', result = ?, updated_at = ?, done_at = ?,"
            f" payload = COALESCE(?, payload) WHERE id = ? AND state IN ({marks})",
            (note, to_ts(now), to_ts(now), payload, item_id, *(s.value for s in from_states)),
        )
        return changed > 0

    async def counts(self, connection: str) -> dict[tuple[str, str], int]:
        """(register, state) → number of items, for status lines and metrics.

        Read from ``register_counts``, which triggers keep exact on every insert, state change
        and delete of a work item: a few rows, however long the history."""
        rows = await self._db.fetchall(
            "SELECT register, state, n FROM register_counts WHERE connection = ? AND n > 0",
            (connection,),
        )
        return {(row["register"], row["state"]): int(row["n"]) for row in rows}

    async def attempts(self, item_id: int) -> list[Row]:
        return await self._db.fetchall(
            "SELECT attempt, started_at, finished_at, outcome, error FROM attempts"
            " WHERE work_item_id = ? ORDER BY id",
            (item_id,),
        )

    async def wake_waiting(self, *, connection: str, register: str, at: datetime) -> int:
        """Make the register's waiting items due at ``at`` at the latest (a remote said that
        something changed); items due sooner keep their time. Returns how many moved."""
        stamp = to_ts(at)
        return await self._db.execute(
            "UPDATE work_items SET next_attempt = ? WHERE connection = ? AND register = ?"
            " AND state = 'waiting' AND next_attempt > ?",
            (stamp, connection, register, stamp),
        )

    async def next_due(self, *, connection: str, register: str) -> datetime | None:
        row = await self._db.fetchone(
            "SELECT MIN(next_attempt) FROM work_items WHERE connection = ? AND register = ?"
            " AND state IN ('waiting', 'new', 'retry', 'reconcile')",
            (connection, register),
        )
        return from_ts(row[0]) if row and row[0] else None


_INSERT = (
    "INSERT INTO work_items (connection, register, instance, external_id,"
    " idempotency_key, state, next_attempt, payload, source_time, created_at,"
    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (idempotency_key) DO NOTHING"
)
_INSERT_REOPENING = (
    "INSERT INTO work_items (connection, register, instance, external_id,"
    " idempotency_key, state, next_attempt, payload, source_time, created_at,"
    " updated_at, reopens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
    " ON CONFLICT (idempotency_key) DO NOTHING"
)


def _enqueue(
    tx: Tx, connection: str, register: str, instance: str, record: Discovered, stamp: str
) -> Enqueued:
    """Inside a transaction: record one discovered record (see :meth:`WorkItems.enqueue`)."""
    key = work_key(connection, register, instance, record.external_id)
    state = ItemState.NEW if record.ready else ItemState.WAITING
    values = (
        connection,
        register,
        instance,
        record.external_id,
        key,
        state.value,
        stamp,
        record.payload,
        to_ts(record.source_time) if record.source_time else "",
        stamp,
        stamp,
    )
    # a reopening (catalog) record says so; an order's insert is the one it always was
    cursor = tx.execute(_INSERT_REOPENING if record.reopen else _INSERT, values)
    if cursor.rowcount:
        return Enqueued.CREATED
    if record.reopen:
        return _reopen_if_newer(tx, key, record, stamp)
    row = tx.execute("SELECT state FROM work_items WHERE idempotency_key = ?", (key,)).fetchone()
    current = ItemState(row["state"])
    if current in FINAL:
        return Enqueued.FINAL
    if current is ItemState.WAITING and record.ready:
        tx.execute(
            "UPDATE work_items SET state = 'new', next_attempt = ?, updated_at = ?"
            " WHERE idempotency_key = ? AND state = 'waiting'",
            (stamp, stamp, key),
        )
        return Enqueued.PROMOTED
    return Enqueued.UNCHANGED


def _is_bound(tx: Tx, connection: str, entity: str, instance: str, source_id: str) -> bool:
    row = tx.execute(
        "SELECT 1 FROM bindings WHERE connection = ? AND entity = ? AND source_instance = ?"
        " AND source_id = ?",
        (connection, entity, instance, source_id),
    ).fetchone()
    return row is not None


#: what :meth:`WorkItems.enqueue_many` counts as new work (the pollers wake the workers)
_NEW_WORK = (Enqueued.CREATED, Enqueued.PROMOTED, Enqueued.REOPENED)


def _reopen_if_newer(tx: Tx, key: str, record: Discovered, stamp: str) -> Enqueued:
    """Inside a transaction: a known catalog record seen again. A newer change queues a
    finished item again and replaces the payload of a pending one; an item in flight is
    queued again when its attempt's outcome is applied (it sees the newer source time)."""
    row = tx.execute(
        "SELECT state, source_time FROM work_items WHERE idempotency_key = ?", (key,)
    ).fetchone()
    current = ItemState(row["state"])
    seen = to_ts(record.source_time) if record.source_time else stamp
    if seen <= row["source_time"]:
        return Enqueued.FINAL if current in FINAL else Enqueued.UNCHANGED
    if current in FINAL:
        tx.execute(
            "UPDATE work_items SET state = 'new', attempts = 0, next_attempt = ?,"
            " updated_at = ?, done_at = NULL, source_time = ?,"
            " payload = COALESCE(?, payload) WHERE idempotency_key = ?",
            (stamp, stamp, seen, record.payload, key),
        )
        return Enqueued.REOPENED
    promote = current is ItemState.WAITING and record.ready
    tx.execute(
        "UPDATE work_items SET source_time = ?, payload = COALESCE(?, payload),"
        " state = CASE WHEN ? THEN 'new' ELSE state END,"
        " next_attempt = CASE WHEN ? THEN ? ELSE next_attempt END WHERE idempotency_key = ?",
        (seen, record.payload, promote, promote, stamp, key),
    )
    return Enqueued.PROMOTED if promote else Enqueued.UNCHANGED


def _rewind(tx: Tx, now: datetime, connection: str | None, slack: float) -> Rewound:
    """Inside a transaction: :meth:`WorkItems.rewind_future`. One scan for the rows ahead
    (few, if any), one UPDATE by id for each."""
    sql = (
        "SELECT id, next_attempt, created_at, updated_at, done_at FROM work_items"
        " WHERE updated_at > ?"
    )
    params: list[object] = [to_ts(now + timedelta(seconds=slack))]
    if connection is not None:
        sql += " AND connection = ?"
        params.append(connection)
    rows = tx.execute(sql, params).fetchall()
    if not rows:
        return Rewound()
    stamp = to_ts(now)
    furthest = timedelta(0)
    changes: list[tuple[str, str, str, str | None, int]] = []
    for row in rows:
        shift = from_ts(row["updated_at"]) - now
        furthest = max(furthest, shift)
        due = max(now, from_ts(row["next_attempt"]) - shift)
        done = _back(row["done_at"], now, shift) if row["done_at"] else row["done_at"]
        changes.append((to_ts(due), _back(row["created_at"], now, shift), stamp, done, row["id"]))
    tx.executemany(
        "UPDATE work_items SET next_attempt = ?, created_at = ?, updated_at = ?, done_at = ?"
        " WHERE id = ?",
        changes,
    )
    return Rewound(len(rows), furthest)


def _back(text: str, now: datetime, shift: timedelta) -> str:
    """A stored time ahead of ``now`` moved back by ``shift`` (never after ``now``); one
    that is not ahead stays."""
    when = from_ts(text)
    return to_ts(min(now, when - shift)) if when > now else text


def _claim_due(
    tx: Tx,
    connection: str,
    register: str,
    stamp: str,
    run_id: str,
    limit: int,
    intent: Intent | None,
    binds: str,
    reads: Reads | None = None,
) -> list[WorkItem]:
    """Inside a transaction: claim up to ``limit`` due items of ``register``, oldest first."""
    rows = tx.execute(
        "SELECT id, state FROM work_items WHERE connection = ? AND register = ?"
        " AND state IN ('waiting', 'new', 'retry', 'reconcile') AND next_attempt <= ?"
        " ORDER BY next_attempt, id LIMIT ?",
        (connection, register, stamp, limit),
    ).fetchall()
    return [
        _take(tx, row["id"], ItemState(row["state"]), stamp, run_id, intent, binds, reads)
        for row in rows
    ]


def _apply(tx: Tx, pairs: Sequence[tuple[WorkItem, Outcome]], now: datetime) -> None:
    """Inside a transaction: apply each claimed item's outcome."""
    for item, outcome in pairs:
        apply_outcome(
            tx,
            item_id=item.id,
            connection=item.connection,
            register=item.register,
            instance=item.instance,
            external_id=item.external_id,
            outcome=outcome,
            now=now,
        )
        stamp = to_ts(now)
        for follow in outcome.follow_ups:
            if follow.source_time is not None:
                record = Discovered(
                    follow.external_id,
                    ready=True,
                    source_time=follow.source_time,
                    payload=follow.payload,
                    reopen=True,
                )
                _enqueue(tx, item.connection, follow.register, follow.instance, record, stamp)
        withdraw = outcome.revisit or outcome.withdraw_intent
        if withdraw and item.intent and item.intent != item.reference:
            # nothing was sent: the intent this claim recorded is withdrawn
            tx.execute(
                "UPDATE work_items SET reference = ? WHERE id = ?", (item.reference, item.id)
            )
        if item.reopens and outcome.state in _FINISHED:
            # a newer change arrived while this attempt ran on the older one: again
            tx.execute(
                "UPDATE work_items SET state = 'new', attempts = 0, next_attempt = ?,"
                " done_at = NULL WHERE id = ? AND source_time > ?",
                (stamp, item.id, item.source_time),
            )


#: outcome states that end an attempt for good (a reopening item may be queued again)
_FINISHED = frozenset({ItemState.DONE, ItemState.SKIPPED, ItemState.FAILED})


def _take(
    tx: Tx,
    item_id: int,
    previous: ItemState,
    stamp: str,
    run_id: str,
    intent: Intent | None,
    binds: str,
    reads: Reads | None = None,
) -> WorkItem:
    """Inside a claim's transaction: move the row to SENDING for this run, open an attempt,
    read the record's binding and record the intent's reference if asked to."""
    # Claimed items leave the runnable states at once, so no other worker can take them.
    row = tx.execute(
        "UPDATE work_items SET state = 'sending', attempts = attempts + 1, run_id = ?,"
        " updated_at = ? WHERE id = ? RETURNING *",
        (run_id, stamp, item_id),
    ).fetchone()
    tx.execute(
        # attempt numbers count every try in the record's history; `attempts` on the item counts
        # tries since a person last retried it (it drives the backoff and the give-up limit)
        "INSERT INTO attempts (work_item_id, attempt, started_at)"
        " VALUES (?, (SELECT COUNT(*) FROM attempts WHERE work_item_id = ?) + 1, ?)",
        (item_id, item_id, stamp),
    )
    item = WorkItem.from_row(row)
    changes: dict[str, Any] = {}  # applied in one replace (each one copies the item)
    if previous in (ItemState.WAITING, ItemState.RECONCILE):
        # the worker must know: re-check readiness / look the reference up before sending
        changes["state"] = previous
    if binds:
        bound = tx.execute(
            "SELECT target_id FROM bindings WHERE connection = ? AND entity = ?"
            " AND source_instance = ? AND source_id = ?",
            (item.connection, binds, item.instance, item.external_id),
        ).fetchone()
        changes["bound"] = bound["target_id"] if bound else ""
    if reads is not None and reads.written:
        key = (item.connection, item.register, item.instance, item.external_id)
        changes["written"] = read_written(tx, *key)
    if reads is not None and reads.written_of:
        record = (item.instance, item.external_id)
        others = {r: read_written(tx, item.connection, r, *record) for r in reads.written_of}
        changes["written_of"] = others
    if reads is not None and reads.reserved_by:
        changes["reserved"] = read_reservations(
            tx, item.connection, reads.reserved_by, item.external_id
        )
    if changes:
        item = dataclasses.replace(item, **changes)
    reference = intent(item) if intent is not None else ""
    if reference:
        tx.execute("UPDATE work_items SET reference = ? WHERE id = ?", (reference, item_id))
        item = dataclasses.replace(item, intent=reference)
    return item
