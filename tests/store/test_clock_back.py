"""Records written under a clock that went back (+1 h, then back) are due on its time again."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest

from brygga.runtime.housekeeping import keep_history_bounded
from brygga.store import Outcome, Store

sys.path.insert(0, str(Path(__file__).parents[1] / "runtime"))
from rt_support import ManualClock

pytestmark = pytest.mark.anyio
T0 = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = 3600.0


class JumpClock(ManualClock):
    """A :class:`ManualClock` whose wall clock can be set ahead or back (libfaketime)."""

    def jump(self, seconds: float) -> None:
        self._start += timedelta(seconds=seconds)


async def _order(store: Store, oid: str, at: datetime, state: str = "new", **kw: object) -> None:
    """An order recorded at ``at``; ``retry``/``done``: one attempt at ``at`` ended so."""
    await store.items.enqueue(
        connection="c", register="orders", instance="se", external_id=oid, now=at, ready=True
    )
    if state != "new":
        found = await store.items.find(
            connection="c", register="orders", instance="se", external_id=oid
        )
        assert found is not None
        item = await store.items.claim_one(found.id, now=at, run_id="r")
        assert item is not None
        await store.items.apply(item, Outcome(state=state, **kw), at)  # type: ignore[arg-type]


async def _due(store: Store, now: datetime) -> set[str]:
    taken = await store.items.claim_many(
        connection="c", register="orders", now=now, run_id="n", limit=100
    )
    return {item.external_id for item in taken}


async def test_records_written_an_hour_ahead_are_due_once_the_daemon_starts(
    store: Store,
) -> None:
    ahead = T0 + timedelta(hours=1)
    await _order(store, "jumped", ahead)
    await _order(store, "jumped-retry", ahead, "retry", next_attempt=ahead + timedelta(minutes=5))
    back = T0 + timedelta(seconds=90)
    await store.items.recover(connection="c", run_id="start", now=back)  # the daemon's start
    assert await _due(store, back) == {"jumped"}
    item = await store.items.find(
        connection="c", register="orders", instance="se", external_id="jumped-retry"
    )
    assert item is not None
    assert item.next_attempt == back + timedelta(minutes=5)  # its backoff, on the clock's time
    assert item.updated_at == back and item.created_at <= back
    assert await _due(store, back + timedelta(minutes=5)) == {"jumped-retry"}


async def test_a_retry_scheduled_on_the_clocks_own_time_is_not_moved(store: Store) -> None:
    later = T0 + timedelta(minutes=5)
    await _order(store, "a", T0, "retry", next_attempt=later)
    rewound = await store.items.rewind_future(T0 + timedelta(seconds=1))
    assert rewound.rows == 0
    assert await _due(store, later - timedelta(seconds=1)) == set()
    assert await _due(store, later) == {"a"}


async def test_the_running_daemon_moves_them_back_when_its_clock_goes_back(
    store: Store,
) -> None:
    clock = JumpClock()
    with anyio.fail_after(10):  # a guard against a hang, not a timing
        async with anyio.create_task_group() as tg:
            tg.start_soon(keep_history_bounded, store, 90 * 86400.0, clock)
            await clock.wait_sleeping(60.0)
            clock.jump(HOUR)
            clock.advance(60.0)  # the clock check sees the time an hour ahead
            await clock.wait_sleeping(60.0)
            await _order(store, "jumped", clock.now())
            clock.jump(-HOUR)
            clock.advance(60.0)
            await clock.wait_sleeping(60.0)
            assert await _due(store, clock.now()) == {"jumped"}
            tg.cancel_scope.cancel()


async def test_records_finished_during_the_jump_are_pruned_on_time(store: Store) -> None:
    clock = JumpClock()
    await _order(store, "done-ahead", clock.now() + timedelta(hours=1), "done")
    await _order(store, "kept", clock.now(), "done")
    keep = 600.0
    async with anyio.create_task_group() as tg:
        tg.start_soon(keep_history_bounded, store, keep, clock)
        await clock.wait_sleeping(HOUR)
        clock.advance(keep / 2)
        rows = await store.items.query()
        assert {i.external_id for i in rows} == {"done-ahead", "kept"}
        assert all(i.updated_at <= clock.now() for i in rows)
        clock.advance(HOUR - keep / 2)
        await clock.wait_sleeping(HOUR)
        assert await store.items.query() == []
        tg.cancel_scope.cancel()


async def test_the_rows_ahead_are_counted_per_register(store: Store) -> None:
    await _order(store, "ahead", T0 + timedelta(hours=1))
    await _order(store, "now", T0)
    future = await store.items.ahead("c", T0)
    assert list(future) == ["orders"]
    assert future["orders"].rows == 1
    assert future["orders"].due == T0 + timedelta(hours=1)
