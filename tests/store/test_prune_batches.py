"""A large history prune runs in small transactions, with the index its deletes need.

Operator QA: one DELETE of 12,000 records held the state file for ~88 s (no order went to the
ERP meanwhile) because every deleted record's ON DELETE SET NULL scanned the whole events
table; 20,000 took 414 s, and a SIGTERM could not stop it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brygga.store import Binding, Outcome, Store

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


async def _done(store: Store, oid: str, state: str = "done") -> None:
    await store.items.enqueue(
        connection="c", register="orders", instance="se", external_id=oid, now=T0, ready=True
    )
    item = await store.items.claim(connection="c", register="orders", now=T0, run_id="r")
    assert item is not None
    bind = Binding("orders", "se", oid, "erp", f"doc-{oid}") if state == "done" else None
    await store.items.apply(item, Outcome(state=state, bind=bind, events=((state, oid),)), T0)


async def test_a_prune_larger_than_a_batch_removes_everything_due_in_several_commits(
    tmp_path: Path,
) -> None:
    async with await Store.open(tmp_path / "state.db") as store:
        for n in range(11):
            await _done(store, f"d{n}")
        await _done(store, "failed", "failed")
        commits: list[int] = []
        execute = store.db.execute

        async def counted(sql: str, params: tuple[object, ...] = ()) -> int:
            count = await execute(sql, params)
            if sql.startswith("DELETE"):
                commits.append(count)
            return count

        store.db.execute = counted  # type: ignore[method-assign]
        cutoff = T0 + timedelta(days=1)
        assert await store.items.prune(cutoff, batch=4) == 11
        assert commits == [4, 4, 3], "one transaction per batch, the last one short"
        commits.clear()
        assert await store.events.prune(cutoff, batch=4) == 11  # the failed record's stays
        assert commits == [4, 4, 3]
        assert [i.external_id for i in await store.items.query()] == ["failed"]
        # bindings stay: what makes a transfer exactly once
        assert await store.bindings.target_of("c", "orders", "se", "d3") is not None


async def test_the_events_foreign_key_has_its_index(tmp_path: Path) -> None:
    """Deleting a record sets its events' work_item_id to NULL: with the index that is a
    lookup, not a scan of every event."""
    async with await Store.open(tmp_path / "state.db") as store:
        rows = await store.db.fetchall("PRAGMA index_list(events)")
        indexed = set()
        for row in rows:
            columns = await store.db.fetchall(f"PRAGMA index_info({row['name']})")
            indexed |= {tuple(c["name"] for c in columns)}
        assert ("work_item_id",) in indexed
