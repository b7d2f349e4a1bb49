"""The state file stays bounded: finished history older than ``keep_history`` is pruned hourly,
while failed records, records in flight and bindings stay."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from brygga.clock import FakeClock
from brygga.runtime.housekeeping import keep_history_bounded
from brygga.store import Binding, Event, Outcome, Store

sys.path.insert(0, str(Path(__file__).parents[1] / "runtime"))
from rt_support import ManualClock

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = 86400.0


async def _record(store: Store, oid: str, state: str, at: datetime) -> None:
    """An order record that reached ``state`` at ``at``, with an attempt and an event."""
    await store.items.enqueue(
        connection="c", register="orders", instance="se", external_id=oid, now=at, ready=True
    )
    if state == "new":
        return
    item = await store.items.claim(connection="c", register="orders", now=at, run_id="r")
    assert item is not None and item.external_id == oid
    bind = Binding("orders", "se", oid, "erp", f"doc-{oid}") if state == "done" else None
    await store.items.apply(
        item, Outcome(state=state, bind=bind, events=((state, f"{oid} {state}"),)), at
    )


async def _ids(store: Store) -> set[str]:
    return {item.external_id for item in await store.items.query()}


async def test_old_finished_records_go_failed_new_and_bindings_stay(store: Store) -> None:
    old, recent = T0, T0 + timedelta(days=80)
    await _record(store, "old-done", "done", old)
    await _record(store, "old-skipped", "skipped", old)
    await _record(store, "old-failed", "failed", old)
    await _record(store, "recent-done", "done", recent)
    await _record(store, "queued", "new", old)
    await store.events.add(Event(old, "c", "orders", "se", "x", "note", "old note"))

    cutoff = T0 + timedelta(days=30)
    assert await store.prune_history(cutoff) == (2, 3)  # 2 records; events of those + note
    assert await _ids(store) == {"old-failed", "recent-done", "queued"}
    # the attempts went with their records; the binding stays, so the order is never re-sent
    rows = await store.db.fetchall("SELECT COUNT(*) FROM attempts")
    assert rows[0][0] == 2
    bound = await store.bindings.target_of("c", "orders", "se", "old-done")
    assert bound is not None and bound.target_id == "doc-old-done"
    # the failed record is still in the error queue, and so is its history
    failed = await store.events.for_record("c", "orders", "se", "old-failed")
    assert [e.kind for e in failed] == ["failed"]
    # a second pass has nothing left to do
    assert await store.prune_history(cutoff) == (0, 0)


async def test_a_year_of_orders_keeps_only_the_window(store: Store) -> None:
    clock = FakeClock(T0)
    keep = 30 * DAY
    for day in range(365):
        await _record(store, f"o{day}", "done", clock.now())
        await store.prune_history(clock.now() - timedelta(seconds=keep))
        clock.advance(DAY)
    assert len(await store.items.query()) == 31  # today's and the 30 days before


async def test_the_daemon_task_prunes_at_start_and_then_hourly(store: Store) -> None:
    clock = ManualClock()  # starts at 2026-01-01; sleeps wait for advance()
    start = clock.now()
    await _record(store, "a", "done", start - timedelta(days=100))
    await _record(store, "b", "done", start - timedelta(days=89))
    async with anyio.create_task_group() as tg:
        tg.start_soon(keep_history_bounded, store, 90 * DAY, clock)
        await clock.wait_sleeping(3600.0)
        assert await _ids(store) == {"b"}  # pruned on start
        clock.advance(2 * DAY)  # "b" is now 91 days old: the next pass takes it
        await clock.wait_sleeping(3600.0)
        assert await _ids(store) == set()
        tg.cancel_scope.cancel()
