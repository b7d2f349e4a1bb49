"""Database.transaction under cancellation: the shared connection never stays in a transaction."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from brygga.store.db import Database

pytestmark = pytest.mark.anyio


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    opened = await Database.open(tmp_path / "state.db")
    await opened.execute("CREATE TABLE t (x INTEGER NOT NULL)")
    try:
        yield opened
    finally:
        await opened.close()


async def _rows(db: Database) -> list[int]:
    return [int(row[0]) for row in await db.fetchall("SELECT x FROM t ORDER BY x")]


async def test_cancel_while_begin_immediate_waits_leaves_the_store_usable(db: Database) -> None:
    # A second connection holds the write lock, so our BEGIN IMMEDIATE blocks in SQLite's
    # busy handler (on aiosqlite's thread). The trace callback tells us it has started.
    begun = threading.Event()

    def trace(statement: str) -> None:
        if statement.startswith("BEGIN IMMEDIATE"):
            begun.set()

    await db._conn.set_trace_callback(trace)
    blocker = sqlite3.connect(db.path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        reached_body = False

        async def writer() -> None:
            nonlocal reached_body
            async with db.transaction() as tx:
                reached_body = True
                await tx.execute("INSERT INTO t (x) VALUES (1)")

        with anyio.fail_after(30):  # a guard against a hang, not a timing assertion
            async with anyio.create_task_group() as tg:
                tg.start_soon(writer)
                await anyio.to_thread.run_sync(begun.wait, abandon_on_cancel=True)
                tg.cancel_scope.cancel()
                # The write lock frees up: the BEGIN still running on aiosqlite's thread now
                # succeeds, although its task has been cancelled.
                blocker.execute("ROLLBACK")
    finally:
        blocker.close()
    await db._conn.set_trace_callback(None)

    assert not reached_body
    assert not db._conn.in_transaction
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO t (x) VALUES (2)")
    assert await db.execute("INSERT INTO t (x) VALUES (3)") == 1
    assert await _rows(db) == [2, 3]


async def test_cancel_inside_the_body_rolls_the_writes_back(db: Database) -> None:
    await db.execute("INSERT INTO t (x) VALUES (1)")
    with anyio.CancelScope() as scope:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t (x) VALUES (2)")
            await tx.execute("DELETE FROM t WHERE x = 1")
            scope.cancel()
            await anyio.lowlevel.checkpoint()
            pytest.fail("the cancellation was not delivered")
    assert scope.cancelled_caught
    assert not db._conn.in_transaction
    assert await _rows(db) == [1]
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO t (x) VALUES (3)")
    assert await _rows(db) == [1, 3]


async def test_a_failed_statement_rolls_back_and_the_next_transaction_works(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t (x) VALUES (1)")
            await tx.execute("INSERT INTO t (x) VALUES (NULL)")
    assert await _rows(db) == []
    await db.execute("INSERT INTO t (x) VALUES (2)")
    assert await _rows(db) == [2]
