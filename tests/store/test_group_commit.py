"""Database.run: concurrent transaction bodies share one commit, each undone alone on error."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from brygga.store.db import Database, Tx

pytestmark = pytest.mark.anyio


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    opened = await Database.open(tmp_path / "state.db")
    await opened.execute("CREATE TABLE t (x INTEGER NOT NULL UNIQUE)")
    try:
        yield opened
    finally:
        await opened.close()


async def _rows(db: Database) -> list[int]:
    return [int(row[0]) for row in await db.fetchall("SELECT x FROM t ORDER BY x")]


def _insert(*values: int | None) -> Callable[[Tx], int]:
    def body(tx: Tx) -> int:
        for value in values:
            tx.execute("INSERT INTO t (x) VALUES (?)", (value,))
        return len(values)

    return body


async def test_concurrent_bodies_commit_together_and_a_failing_one_alone_is_undone(
    db: Database,
) -> None:
    commits: list[str] = []
    await db._conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    results: dict[int, object] = {}

    async def call(n: int) -> None:
        # body 7 writes 70 and then fails: 70 must not stay
        body = _insert(n * 10, None) if n == 7 else _insert(n * 10)
        try:
            results[n] = await db.run(body)
        except sqlite3.IntegrityError as exc:
            results[n] = exc

    async with anyio.create_task_group() as tg:
        for n in range(1, 21):
            tg.start_soon(call, n)
    await db._conn.set_trace_callback(None)

    assert isinstance(results.pop(7), sqlite3.IntegrityError)
    assert results == {n: 1 for n in range(1, 21) if n != 7}
    assert await _rows(db) == [n * 10 for n in range(1, 21) if n != 7]
    assert len(commits) <= 10  # the bodies shared commits (one each would be 19)
    assert not db._conn.in_transaction


async def test_a_body_sees_the_writes_of_bodies_before_it(db: Database) -> None:
    async def count_after_insert(x: int) -> int:
        def body(tx: Tx) -> int:
            tx.execute("INSERT INTO t (x) VALUES (?)", (x,))
            return int(tx.execute("SELECT COUNT(*) FROM t").fetchone()[0])

        return await db.run(body)

    seen: list[int] = []

    async def call(x: int) -> None:
        seen.append(await count_after_insert(x))

    async with anyio.create_task_group() as tg:
        for x in range(10):
            tg.start_soon(call, x)
    assert sorted(seen) == list(range(1, 11))


async def _cancel_soon(scope: anyio.CancelScope) -> None:
    for _ in range(5):  # let the caller queue its body and wait for the lock
        await anyio.lowlevel.checkpoint()
    scope.cancel()


async def test_a_caller_cancelled_before_its_group_starts_never_runs(db: Database) -> None:
    ran = False

    def body(tx: Tx) -> None:
        nonlocal ran
        ran = True
        tx.execute("INSERT INTO t (x) VALUES (1)")

    held, release = anyio.Event(), anyio.Event()

    async def earlier_transaction() -> None:
        async with db._lock:
            held.set()
            await release.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(earlier_transaction)
        await held.wait()
        with anyio.CancelScope() as scope:
            tg.start_soon(_cancel_soon, scope)
            await db.run(body)
        release.set()
    assert scope.cancelled_caught
    await db.run(_insert(2))
    assert not ran
    assert await _rows(db) == [2]


async def test_the_error_of_a_failed_begin_reaches_every_caller(db: Database) -> None:
    blocker = sqlite3.connect(db.path, isolation_level=None)
    await db.run(lambda tx: tx.execute("PRAGMA busy_timeout = 0"))
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await db.run(_insert(1))
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert not db._conn.in_transaction
    await db.run(_insert(2))
    assert await _rows(db) == [2]


async def test_every_caller_of_a_group_that_cannot_run_gets_the_error(db: Database) -> None:
    # aiosqlite refuses the group once (as it does on a closed connection), then works again
    execute = db._conn._execute
    refused = False

    async def refuse_once(*args: object) -> object:
        nonlocal refused
        if not refused:
            refused = True
            raise ValueError("Connection closed")
        return await execute(*args)

    db._conn._execute = refuse_once  # type: ignore[method-assign]
    outcomes: list[object] = []

    async def call(x: int) -> None:
        try:
            outcomes.append(await db.run(_insert(x)))
        except ValueError as exc:
            outcomes.append(exc)

    async with anyio.create_task_group() as tg:
        for x in range(3):
            tg.start_soon(call, x)
    assert [str(o) for o in outcomes] == ["Connection closed"] * 3  # no silent None
    assert await _rows(db) == []
    assert await db.run(_insert(7)) == 1
