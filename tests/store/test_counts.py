"""Counts per (register, state) are kept by triggers and stay exact through every change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import brygga.store.db
from brygga.store import Discovered, ItemState, Outcome, Store
from brygga.store.schema import MIGRATIONS

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


async def _recount(store: Store, connection: str) -> dict[tuple[str, str], int]:
    """The counts the slow way: a scan of every item."""
    rows = await store.db.fetchall(
        "SELECT register, state, COUNT(*) FROM work_items WHERE connection = ?"
        " GROUP BY register, state",
        (connection,),
    )
    return {(row[0], row[1]): int(row[2]) for row in rows}


async def _exact(store: Store) -> dict[tuple[str, str], int]:
    for connection in ("c", "d"):
        assert await store.items.counts(connection) == await _recount(store, connection)
    return await store.items.counts("c")


async def test_counts_stay_exact_through_every_change(store: Store) -> None:
    records = [Discovered(str(n), ready=n % 3 != 0) for n in range(9)]
    for connection in ("c", "d"):
        await store.items.enqueue_many(
            connection=connection, register="orders", instance="se", records=records, now=NOW
        )
    await store.items.enqueue(
        connection="c", register="writeback", instance="se", external_id="x", now=NOW, ready=True
    )
    assert await _exact(store) == {
        ("orders", "new"): 6,
        ("orders", "waiting"): 3,
        ("writeback", "new"): 1,
    }
    # promotion, claims, outcomes with a follow-up
    await store.items.enqueue_many(
        connection="c", register="orders", instance="se", records=[Discovered("0", True)], now=NOW
    )
    claimed = await store.items.claim_many(
        connection="c", register="orders", now=NOW, run_id="r", limit=5
    )
    await _exact(store)
    done, failed, *rest = claimed
    await store.items.apply_many(
        [
            (done, Outcome(state="done")),
            (failed, Outcome(state="failed", error="no")),
            *((item, Outcome(state="retry", error="503")) for item in rest),
        ],
        NOW,
    )
    counts = await _exact(store)
    assert counts[("orders", "done")] == 1 and counts[("orders", "failed")] == 1
    assert counts[("orders", "retry")] == 3
    # by hand: resolve, requeue; a restart's recovery
    assert await store.items.resolve(failed.id, "ok", NOW, from_states=[ItemState.FAILED])
    assert await store.items.requeue(rest[0].id, NOW, from_states=[ItemState.RETRY])
    await store.items.claim(connection="c", register="orders", now=NOW, run_id="old")
    await store.items.recover(connection="c", run_id="new", now=NOW)
    await _exact(store)
    # pruning and deleting
    assert await store.items.prune(NOW + timedelta(days=1)) == 2  # the done and the resolved
    await store.db.execute("DELETE FROM work_items WHERE connection = 'd'")
    counts = await _exact(store)
    assert ("orders", "done") not in counts and ("orders", "resolved") not in counts
    assert await store.items.counts("d") == {}


async def test_the_migration_fills_the_counts_from_an_existing_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.db"
    before = next(i for i, (version, _, _) in enumerate(MIGRATIONS) if version == 4)
    with monkeypatch.context() as patch:
        patch.setattr(brygga.store.db, "MIGRATIONS", MIGRATIONS[:before])
        async with await Store.open(path) as store:
            for n in range(5):
                await store.db.execute(
                    "INSERT INTO work_items (connection, register, instance, external_id,"
                    " idempotency_key, state, next_attempt, created_at, updated_at)"
                    " VALUES ('c', ?, 'se', ?, ?, ?, 'x', 'x', 'x')",
                    (
                        "orders" if n < 4 else "writeback",
                        str(n),
                        f"k{n}",
                        "done" if n < 3 else "failed",
                    ),
                )
    async with await Store.open(path) as store:
        assert await store.items.counts("c") == {
            ("orders", "done"): 3,
            ("orders", "failed"): 1,
            ("writeback", "failed"): 1,
        }
        await store.items.enqueue(
            connection="c", register="orders", instance="se", external_id="9", now=NOW, ready=True
        )
        assert await _exact(store) == {
            ("orders", "done"): 3,
            ("orders", "failed"): 1,
            ("orders", "new"): 1,
            ("writeback", "failed"): 1,
        }
