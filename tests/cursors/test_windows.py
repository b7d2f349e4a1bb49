"""Closed, overlapping poll windows lose no order: late commits, clock skew, drift, crashes, DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from cursor_support import OVERLAP, CursorEnv, SkewedClock, open_env

from brygga.errors import TransientError
from brygga.store.db import from_ts
from brygga.testing import Fault
from brygga_starweb.simulator.records import STOCKHOLM

pytestmark = pytest.mark.anyio


# -- (a) records committed late -------------------------------------------------------------


@pytest.mark.parametrize("back", [11.0, 120.0, OVERLAP - 1])
async def test_an_order_committed_late_is_found_by_the_next_poll(
    env: CursorEnv, back: float
) -> None:
    await env.poll()
    env.clock.advance(60)
    [early] = env.place()
    env.clock.advance(60)
    assert await env.poll() == 1
    window_end = env.clock.now()
    env.clock.advance(10)
    # committed now, but stamped ``back`` seconds ago: before the previous window closed
    [late] = env.place()
    env.shop.order(late).modified_at -= timedelta(seconds=back)
    assert env.shop.order(late).modified_at < window_end
    env.clock.advance(50)
    assert await env.poll() == 1
    # the overlap re-read the early order too; it was a no-op
    assert set(env.feed.windows[-1].ids) == {early, late}
    await env.assert_each_placed_order_enqueued_once()


async def test_a_commit_later_than_the_overlap_is_beyond_what_polling_covers(
    env: CursorEnv,
) -> None:
    """The boundary of the guarantee: ``overlap`` is the setting that covers late commits,
    counted back from the newest change already read (the cursor)."""
    await env.poll()
    env.clock.advance(60)
    [early] = env.place()
    env.clock.advance(10)
    assert await env.poll() == 1
    env.clock.advance(10)
    [late] = env.place()
    newest = env.shop.order(early).modified_at
    env.shop.order(late).modified_at = newest - timedelta(seconds=OVERLAP + 1)
    env.clock.advance(50)
    assert await env.poll() == 0
    assert late not in await env.items()


# -- (b) clock skew between daemon and shop --------------------------------------------------


@pytest.mark.parametrize("skew", [0.0, 30.0, OVERLAP - 1, -30.0, -(OVERLAP - 1)])
async def test_clock_skew_below_the_overlap_loses_nothing(tmp_path: Path, skew: float) -> None:
    async with open_env(tmp_path, skew=skew) as env:
        await env.poll()
        await env.minutes(30, orders=lambda minute: minute % 4)
        # the shop's newest orders are "in the future" for a daemon that is behind it
        await env.minutes(int(abs(skew) // 60) + 2, orders=lambda minute: 0)
        env.assert_windows_ordered_and_unique()
        await env.assert_each_placed_order_enqueued_once()
        assert len(env.placed) == sum(minute % 4 for minute in range(30))


@pytest.mark.parametrize("skew", [-(OVERLAP + 120), -1800.0, OVERLAP + 120, 3600.0])
async def test_clock_skew_beyond_the_overlap_loses_nothing_either(
    tmp_path: Path, skew: float
) -> None:
    """The cursor is the newest change time the shop reported, not the daemon's clock: a
    daemon clock an hour ahead of the shop (operator QA: a +1 h jump lost every order placed
    meanwhile) or behind it loses nothing; behind, the newest orders wait until the daemon's
    clock reaches their time (the window is closed at the daemon's ``now``)."""
    async with open_env(tmp_path, skew=skew) as env:
        await env.poll()
        await env.minutes(10, orders=lambda minute: 2)
        await env.minutes(int(abs(skew) // 60) + 2, orders=lambda minute: 0)
        env.assert_windows_ordered_and_unique()
        await env.assert_each_placed_order_enqueued_once()
        assert len(env.placed) == 20


async def test_a_daemon_clock_that_jumps_an_hour_ahead_while_running_loses_nothing(
    env: CursorEnv,
) -> None:
    """Operator QA's case: the daemon ran, its host clock jumped +1 h (faketime), orders were
    placed after its first poll in that state. With the host's clock as the cursor, every
    later window started after them and they were lost for good."""
    await env.poll()
    await env.minutes(3, orders=lambda minute: 2)
    env.clock.advance(3600)  # the daemon's clock jumps; the shop's keeps its time
    shop_clock = env.shop.clock
    assert isinstance(shop_clock, SkewedClock)
    shop_clock.skew = timedelta(seconds=-3600)
    await env.minutes(5, orders=lambda minute: 2)
    await env.assert_each_placed_order_enqueued_once()
    assert len(env.placed) == 16


async def test_a_cursor_stored_ahead_of_the_clock_is_not_trusted(env: CursorEnv) -> None:
    """A cursor from the future (an older brygga stored the host's clock while it ran
    ahead, and the clock was put right): the window starts from the clock instead of
    skipping everything until the clock catches up."""
    await env.poll()
    ahead = env.clock.now() + timedelta(hours=1)
    await env.store.cursors.set("demo", "se", "orders", ahead.isoformat(), env.clock.now())
    env.clock.advance(600)
    [order] = env.place()  # within the overlap before the clock's time: the window reads it
    env.clock.advance(60)
    assert await env.poll() == 1
    assert order in await env.items()
    stored = await env.cursor()
    assert stored is not None and datetime.fromisoformat(stored) <= env.clock.now()


# -- (c) drift while the adapter pages -------------------------------------------------------


@pytest.mark.parametrize("skew", [0.0, -30.0])
async def test_orders_changed_or_placed_while_paging_are_each_enqueued_once(
    tmp_path: Path, skew: float
) -> None:
    async with open_env(tmp_path, skew=skew, page_size=5) as env:
        await env.poll()
        await env.minutes(10, orders=lambda minute: 3, poll=False)  # 30 orders, 6 pages
        old = list(env.placed)
        edits = iter(range(1000))

        def meanwhile(page: int) -> None:
            env.clock.advance(1)  # the walk takes time on the shop's side
            n = next(edits)
            if n % 2 == 0:
                env.shop.touch(old[(7 * n) % len(old)])  # an edit: jumps to the front
            if n % 3 == 0:
                env.place()  # a new order lands on page 1
            if n % 5 == 0:
                env.shop.knobs.drift += 1  # the next page's first row is edited too

        env.shop.on_orders_page = meanwhile
        env.shop.knobs.duplicate_pages = True
        for _ in range(8):
            await env.poll()
            env.clock.advance(60)
        env.shop.on_orders_page = None
        for _ in range(3):
            await env.poll()
            env.clock.advance(60)
        assert next(edits) > 20  # the hooks really ran during the walks
        env.assert_windows_ordered_and_unique()
        await env.assert_each_placed_order_enqueued_once()


# -- (d) ordering, and the cursor only moves after the whole window --------------------------


async def test_the_feed_yields_modified_at_then_id_ascending(env: CursorEnv) -> None:
    await env.poll()
    env.clock.advance(10)
    a, b, c = env.place(3)  # one second: ordered by id
    env.clock.advance(5)
    env.shop.touch(a)  # now the newest
    d, e = env.place(2)
    env.shop.order(e).modified_at = env.shop.order(b).modified_at  # same second as b
    env.clock.advance(10)
    await env.poll()
    assert env.feed.windows[-1].ids == [b, c, e, a, d]
    env.assert_windows_ordered_and_unique()


async def test_a_poll_cancelled_mid_window_does_not_move_the_cursor(env: CursorEnv) -> None:
    await env.poll()
    before = await env.cursor()
    assert before is None, "a window that read nothing leaves no cursor yet"
    await env.minutes(5, orders=lambda minute: 2, poll=False)
    with anyio.CancelScope() as crash:
        env.feed.cancel_at = (5, crash)  # dies in the middle of reading the window
        await env.poll()
    assert crash.cancelled_caught
    env.feed.cancel_at = None
    # discovered orders are recorded a page at a time, in one transaction: the cancelled
    # page left nothing half-recorded, and the cursor did not move past it
    assert len(await env.items()) == 0
    assert await env.cursor() == before
    env.clock.advance(60)
    assert await env.poll() == 10
    # the newest change the shop reported, on the shop's clock
    newest = max(env.shop.order(i).modified_at for i in env.placed)
    stored = await env.cursor()
    assert stored is not None and datetime.fromisoformat(stored) == newest
    await env.assert_each_placed_order_enqueued_once()


async def test_a_shop_error_in_the_middle_of_the_walk_leaves_the_window_to_the_next_poll(
    tmp_path: Path,
) -> None:
    async with open_env(tmp_path, page_size=5) as env:
        await env.poll()
        before = await env.cursor()
        await env.minutes(6, orders=lambda minute: 2, poll=False)

        def fail_next_page(page: int) -> None:
            if page == 1:
                env.shop.faults.add(Fault("status", status=503, path="/orders$", times=1))

        env.shop.on_orders_page = fail_next_page
        with pytest.raises(TransientError, match="server error 503"):
            await env.poll()
        env.shop.on_orders_page = None
        assert env.shop.faults.fired["status"] == 1
        assert await env.cursor() == before
        env.clock.advance(60)
        assert await env.poll() == 12
        await env.assert_each_placed_order_enqueued_once()


# -- (e) windows across daylight saving changes ----------------------------------------------


@pytest.mark.parametrize(
    "start",
    [
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # 01:30 CET; at 01:00 UTC 02:00 becomes 03:00
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST; at 01:00 UTC 03:00 becomes 02:00
    ],
    ids=["spring", "autumn"],
)
async def test_polling_every_minute_across_a_dst_change_loses_nothing(
    tmp_path: Path, start: datetime
) -> None:
    async with open_env(tmp_path, start=start) as env:
        await env.poll()
        await env.minutes(90, orders=lambda minute: 1 + minute % 2)
        offsets = {
            env.shop.order(o).modified_at.astimezone(STOCKHOLM).utcoffset() for o in env.placed
        }
        assert offsets == {timedelta(hours=1), timedelta(hours=2)}  # both sides of the change
        env.assert_windows_ordered_and_unique()
        await env.assert_each_placed_order_enqueued_once()
        items = await env.items()
        for order_id in env.placed:  # each seen at the shop's own instant
            assert from_ts(items[order_id].source_time) == env.shop.order(order_id).modified_at
        # every order was enqueued by the poll at the end of the minute it was placed in
        assert env.created[1:] == [1 + minute % 2 for minute in range(90)]
