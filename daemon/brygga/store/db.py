"""The SQLite connection: WAL, synchronous=FULL, foreign keys, migrations, serialized writes."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import aiosqlite
import anyio

from brygga.errors import BryggaError, SchemaTooNewError
from brygga.store.schema import MIGRATIONS, OPTIONAL_FOR_READERS, too_new, too_old

__all__ = ["PRUNE_BATCH", "Database", "SchemaTooOld", "Tx", "from_ts", "to_ts"]

log = logging.getLogger(__name__)

Row = aiosqlite.Row
#: rows a history prune deletes per transaction (other work runs between two batches)
PRUNE_BATCH = 500
#: the connection as a transaction body run by :meth:`Database.run` sees it (on its own thread)
Tx = sqlite3.Connection
T = TypeVar("T")


def to_ts(when: datetime) -> str:
    """Aware datetime → fixed-width UTC text that sorts like time."""
    if when.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_ts(text: str) -> datetime:
    """The aware UTC datetime of a :func:`to_ts` text (``fromisoformat``: a tenth of the
    cost of ``strptime``, which the store paid for every timestamp of every row it read)."""
    if len(text) != 27 or text[10] != "T" or text[19] != "." or text[26] != "Z":
        raise ValueError(f"not a store timestamp: {text!r}")
    return datetime.fromisoformat(text)


class SchemaTooOld(BryggaError):
    """The state file lacks a migration this brygga needs, and the command that opened it
    does not migrate (only `brygga run`, `replay` and `sync products` do, and never while a
    daemon holds the file)."""


class Database:
    """One aiosqlite connection. Writes go through :meth:`transaction` (``BEGIN IMMEDIATE``),
    serialized by a lock so tasks sharing the connection never interleave transactions."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._lock = anyio.Lock()
        #: bodies handed to :meth:`run`, waiting for the next group commit
        self._queue: list[_Job[Any]] = []

    @classmethod
    async def open(cls, path: Path, *, migrate: bool = True) -> Database:
        """Open (or create) the state file. ``migrate``: apply the migrations a file from an
        older brygga lacks; without it such a file is read as it is when it lacks only
        :data:`OPTIONAL_FOR_READERS`, else :class:`SchemaTooOld` (a new, empty file is set up
        either way). A file from a newer brygga is :class:`SchemaTooNewError`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_private(path)
        conn = await aiosqlite.connect(str(path), isolation_level=None)
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path)
        try:
            await conn.execute("PRAGMA busy_timeout = 10000")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await db._migrate(apply=migrate)
        except BaseException:
            await conn.close()
            raise
        return db

    async def close(self) -> None:
        await self._conn.close()

    async def _migrate(self, *, apply: bool) -> None:
        await self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        rows = await self._conn.execute_fetchall("SELECT version FROM schema_migrations")
        applied = {int(row[0]) for row in rows}
        known = {version for version, _, _ in MIGRATIONS}
        newer = sorted(applied - known)
        if newer:
            raise SchemaTooNewError(too_new(self.path, newer[-1]))
        missing = [version for version, _, _ in MIGRATIONS if version not in applied]
        if applied and missing and not apply:
            if set(missing) <= OPTIONAL_FOR_READERS:
                return  # read as it is: `brygga run` of this version migrates it
            raise SchemaTooOld(too_old(self.path, max(applied)))
        for version, name, sql in MIGRATIONS:
            if version in applied:
                continue
            log.info("applying schema migration %d (%s)", version, name)
            async with self.transaction() as tx:
                for statement in _statements(sql):
                    await tx.execute(statement)
                await tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, to_ts(datetime.now(UTC))),
                )

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK`` on error, cancellation included).

        Whatever happens, the shared connection is outside any transaction when this returns or
        raises: a task cancelled while its ``BEGIN`` waits for the write lock (aiosqlite's thread
        keeps running it) or while ``COMMIT`` fails waits for that statement and rolls it back."""
        async with self._lock:
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                await self._undo()
                raise
            try:
                yield self._conn
            except BaseException:
                await self._undo()
                raise
            else:
                try:
                    with anyio.CancelScope(shield=True):
                        await self._conn.execute("COMMIT")
                except BaseException:
                    await self._undo()
                    raise

    async def run(self, body: Callable[[Tx], T]) -> T:
        """Run ``body`` as one transaction on the connection's own thread; return its result.

        ``body`` is plain synchronous code on the connection (no awaits, no I/O besides
        SQLite). If it raises, its writes are rolled back and the error is raised here.

        Group commit: bodies that callers hand in while an earlier group is being written run
        together, one after another, in the next ``BEGIN IMMEDIATE`` … ``COMMIT``, each inside
        its own savepoint, so a failing body undoes only its own writes. Every caller returns
        only after the ``COMMIT`` that made its writes durable (``synchronous=FULL``): one fsync
        and one hand-off to aiosqlite's thread for the whole group instead of one per caller.

        A caller cancelled before its group starts withdraws its body; one cancelled after
        leaves the body to commit (or roll back) with its group."""
        job: _Job[T] = _Job(body)
        self._queue.append(job)
        try:
            async with self._lock:
                if not job.done:
                    group, self._queue = self._queue, []
                    with anyio.CancelScope(shield=True):  # the others wait for their results
                        # aiosqlite's queue runs one function after another on its thread;
                        # its own methods reach the sqlite3 connection the same way (private
                        # API: pyproject pins aiosqlite <0.23)
                        queue: Callable[..., Awaitable[None]] = self._conn._execute
                        try:
                            await queue(_commit_group, self._conn._conn, group)
                        except BaseException as exc:  # the group never ran (connection closed)
                            for other in group:
                                if not other.done:
                                    other.error, other.done = exc, True
                            raise
        except BaseException:
            if job in self._queue:
                self._queue.remove(job)
            raise
        if job.error is not None:
            raise job.error
        return cast(T, job.result)

    async def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version``: changes when another connection commits."""
        row = await self.fetchone("PRAGMA data_version")
        return int(row[0]) if row else 0

    async def _undo(self) -> None:
        """Roll back whatever the connection has open, once its pending statements have run.

        aiosqlite runs calls one after another on its own thread, so an awaited no-op finishes only
        after a statement whose caller was cancelled; ``in_transaction`` is then accurate."""
        with anyio.CancelScope(shield=True):
            await self._conn.execute("SELECT 1")
            if self._conn.in_transaction:
                await self._conn.execute("ROLLBACK")

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._lock:
            return list(await self._conn.execute_fetchall(sql, params))

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write statement in its own transaction; return the rows changed."""
        return await self.run(lambda tx: tx.execute(sql, params).rowcount)

    async def delete_in_batches(
        self, sql: str, params: Sequence[Any], batch: int = PRUNE_BATCH
    ) -> int:
        """Run a DELETE whose last parameter is a batch size (``… LIMIT ?``) again, each time
        in its own transaction, until it deletes fewer than ``batch`` rows; return how many it
        deleted in all. Other work runs between two batches, and a stop between them leaves
        a consistent file."""
        removed = 0
        while True:
            count = await self.execute(sql, (*params, batch))
            removed += count
            if count < batch:
                return removed

    async def schema_version(self) -> int:
        row = await self.fetchone("SELECT MAX(version) FROM schema_migrations")
        return int(row[0]) if row and row[0] is not None else 0


#: the state file holds customers' names and addresses: owner only, whatever the umask
PRIVATE_MODE = 0o600


def _create_private(path: Path) -> None:
    """Create the state file empty and 0600 if it does not exist (an existing file keeps the
    mode its owner chose). SQLite gives the WAL and shared-memory files the mode of the state
    file, so they are private too."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, PRIVATE_MODE)  # the umask may have taken bits away from the owner
    finally:
        os.close(fd)


class _Job(Generic[T]):
    """One body handed to :meth:`Database.run`, and what became of it."""

    __slots__ = ("body", "done", "error", "result")

    def __init__(self, body: Callable[[Tx], T]) -> None:
        self.body = body
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = False


class _Aborted(Exception):
    """SQLite rolled the whole transaction back itself (disk full, I/O error)."""


def _commit_group(conn: Tx, group: list[_Job[Any]]) -> None:
    """On aiosqlite's thread: every body of ``group`` in one transaction, each in a savepoint.

    Sets each job's result or error; never raises. A job counts as done only if the ``COMMIT``
    succeeded; if it failed (or SQLite aborted the transaction), every job gets that error."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for job in group:
                conn.execute("SAVEPOINT job")
                try:
                    job.result = job.body(conn)
                except BaseException as exc:
                    job.error = exc
                    if not conn.in_transaction:
                        raise _Aborted from exc
                    conn.execute("ROLLBACK TO job")
                conn.execute("RELEASE job")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except BaseException as exc:
        failure = exc.__cause__ if isinstance(exc, _Aborted) else exc
        for job in group:
            if job.error is None:
                job.result, job.error = None, failure
    finally:
        for job in group:
            job.done = True


def _statements(sql: str) -> Iterable[str]:
    """The statements of a migration; a trigger's body (``BEGIN … END``) stays whole."""
    pending = ""
    for piece in sql.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending
            pending = ""
    if pending.strip(" \n;"):
        yield pending
