"""The state file: pragmas, migrations, idempotent work items, claims, recovery, bindings."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest

from brygga.errors import SchemaTooNewError
from brygga.store import Binding, Enqueued, Event, ItemState, Store
from brygga.store.schema import MIGRATIONS

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


async def _enqueue(
    store: Store, oid: str, *, ready: bool = True, register: str = "orders"
) -> Enqueued:
    return await store.items.enqueue(
        connection="c", register=register, instance="se", external_id=oid, now=NOW, ready=ready
    )


async def test_pragmas_and_migrations(store: Store) -> None:
    assert (await store.db.fetchone("PRAGMA journal_mode"))[0] == "wal"  # type: ignore[index]
    assert (await store.db.fetchone("PRAGMA synchronous"))[0] == 2  # type: ignore[index]  # FULL
    assert (await store.db.fetchone("PRAGMA foreign_keys"))[0] == 1  # type: ignore[index]
    assert await store.db.schema_version() == MIGRATIONS[-1][0]


async def test_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    store = await Store.open(path)
    await store.db.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'x')"
    )
    await store.close()
    expected = r"schema version 99, but this brygga knows versions up to \d+; use a newer brygga"
    with pytest.raises(SchemaTooNewError, match=expected):
        await Store.open(path)


async def test_enqueue_is_idempotent_and_promotes_waiting(store: Store) -> None:
    assert await _enqueue(store, "1", ready=False) is Enqueued.CREATED
    assert await _enqueue(store, "1", ready=False) is Enqueued.UNCHANGED
    assert await _enqueue(store, "1", ready=True) is Enqueued.PROMOTED
    assert await _enqueue(store, "1", ready=True) is Enqueued.UNCHANGED
    item = await store.items.find(connection="c", register="orders", instance="se", external_id="1")
    assert item is not None and item.state is ItemState.NEW
    await store.items.finish(item.id, ItemState.DONE, NOW, result="D1")
    assert await _enqueue(store, "1") is Enqueued.FINAL
    assert len(await store.items.query()) == 1


async def test_concurrent_claims_never_take_the_same_item(store: Store) -> None:
    for n in range(30):
        await _enqueue(store, str(n))
    claimed: list[int] = []

    async def claimer() -> None:
        while (
            item := await store.items.claim(connection="c", register="orders", now=NOW, run_id="r")
        ) is not None:
            claimed.append(item.id)
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(claimer)
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 30


async def test_claim_respects_next_attempt_and_register(store: Store) -> None:
    await _enqueue(store, "1")
    await _enqueue(store, "2", register="orders.writeback")
    item = await store.items.claim(connection="c", register="orders", now=NOW, run_id="r")
    assert item is not None and item.external_id == "1" and item.attempts == 1
    await store.items.finish(
        item.id, ItemState.RETRY, NOW, error="boom", next_attempt=NOW + timedelta(seconds=30)
    )
    assert await store.items.claim(connection="c", register="orders", now=NOW, run_id="r") is None
    later = await store.items.claim(
        connection="c", register="orders", now=NOW + timedelta(seconds=31), run_id="r"
    )
    assert later is not None and later.attempts == 2 and later.last_error == "boom"
    attempts = await store.items.attempts(later.id)
    assert [a["outcome"] for a in attempts] == ["retry", "running"]


async def test_recover_marks_other_runs_sending_items_for_reconcile(store: Store) -> None:
    await _enqueue(store, "1")
    await _enqueue(store, "2")
    first = await store.items.claim(
        connection="c", register="orders", now=NOW, run_id="old", intent=lambda _: "ref-1"
    )
    assert first is not None
    mine = await store.items.claim(connection="c", register="orders", now=NOW, run_id="new")
    assert mine is not None
    assert await store.items.recover(connection="c", run_id="new", now=NOW) == 1
    again = await store.items.claim(connection="c", register="orders", now=NOW, run_id="new")
    assert again is not None and again.id == first.id
    assert again.state is ItemState.RECONCILE and again.reference == "ref-1"


async def test_failed_transaction_rolls_back_on_cancel(store: Store) -> None:
    with anyio.move_on_after(0.05):
        async with store.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO cursors VALUES ('c', 'se', 'orders', 'x', ?)",
                ("2026-01-01T00:00:00.000000Z",),
            )
            await anyio.sleep(10)
    assert await store.cursors.get("c", "se", "orders") is None
    await store.cursors.set("c", "se", "orders", "pos", NOW)
    assert await store.cursors.get("c", "se", "orders") == "pos"


async def test_bindings_are_unique_on_both_sides(store: Store) -> None:
    binding = Binding("orders", "se", "1001", "economic", "5")
    await store.bindings.bind("c", binding, NOW)
    await store.bindings.bind("c", binding, NOW)  # same pair again: no-op
    assert await store.bindings.target_of("c", "orders", "se", "1001") == binding
    with pytest.raises(sqlite3.IntegrityError):
        await store.bindings.bind("c", Binding("orders", "se", "1002", "economic", "5"), NOW)
    with pytest.raises(sqlite3.IntegrityError):
        await store.bindings.bind("c", Binding("orders", "se", "1001", "economic", "6"), NOW)


async def test_events_per_record_and_pruning(store: Store) -> None:
    for age in (40, 1):
        await store.events.add(
            Event(
                at=NOW - timedelta(days=age),
                connection="c",
                register="orders",
                instance="se",
                external_id="1",
                kind="note",
                message=f"{age} days old",
            )
        )
    assert len(await store.events.for_record("c", "orders", "se", "1")) == 2
    assert await store.events.prune(NOW - timedelta(days=30)) == 1
    [left] = await store.events.for_record("c", "orders", "se", "1")
    assert left.message == "1 days old"


async def test_an_item_being_reconciled_is_claimed_by_one_worker_only(store: Store) -> None:
    await _enqueue(store, "1")
    crashed = await store.items.claim(connection="c", register="orders", now=NOW, run_id="old")
    assert crashed is not None
    await store.items.recover(connection="c", run_id="new", now=NOW)
    claims = [
        await store.items.claim(connection="c", register="orders", now=NOW, run_id="new")
        for _ in range(3)
    ]
    assert [c.state if c else None for c in claims] == [ItemState.RECONCILE, None, None]


def test_one_daemon_per_state_file(tmp_path: Path) -> None:
    from brygga.errors import BryggaError
    from brygga.store.lock import DaemonLock, daemon_running

    state = tmp_path / "state.db"
    assert not daemon_running(state)
    with DaemonLock(state):
        assert daemon_running(state)
        pid = rf"\(pid {os.getpid()}\)"
        with pytest.raises(BryggaError, match=f"another brygga daemon {pid} is already running"):
            DaemonLock(state).acquire()
    assert not daemon_running(state)


async def test_a_person_s_retry_gives_a_fresh_budget_and_keeps_history(store: Store) -> None:
    await _enqueue(store, "1")
    for _ in range(3):
        item = await store.items.claim(connection="c", register="orders", now=NOW, run_id="r")
        assert item is not None
        await store.items.finish(item.id, ItemState.RETRY, NOW, error="503")
    await store.items.finish(item.id, ItemState.FAILED, NOW, error="gave up")
    assert await store.items.requeue(item.id, NOW, from_states=[ItemState.FAILED])
    again = await store.items.claim(connection="c", register="orders", now=NOW, run_id="r")
    assert again is not None and again.attempts == 1
    assert [a["attempt"] for a in await store.items.attempts(again.id)] == [1, 2, 3, 4]
