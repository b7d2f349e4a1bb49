"""Closed, overlapping poll windows lose no order: late commits, clock skew, drift, crashes, DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from cursor_support import OVERLAP, CursorEnv, open_env

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
    """The boundary of the guarantee: ``overlap`` is the setting that covers late commits."""
    await env.poll()
    env.clock.advance(60)
    await env.poll()
    env.clock.advance(10)
    [late] = env.place()
    env.shop.order(late).modified_at -= timedelta(seconds=10 + OVERLAP + 1)
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


async def test_a_shop_clock_behind_by_more_than_the_overlap_loses_orders(tmp_path: Path) -> None:
    """What the previous test guards against: the test would see a loss."""
    async with open_env(tmp_path, skew=-(OVERLAP + 120)) as env:
        await env.poll()
        await env.minutes(10, orders=lambda minute: 2)
        assert len(await env.items()) < len(env.placed)


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
    assert before == env.clock.now().isoformat()
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
    assert await env.cursor() == env.clock.now().isoformat()
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
