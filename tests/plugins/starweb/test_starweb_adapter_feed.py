"""The change feed: a modifiedAt walk that misses nothing and repeats nothing, even on drift."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starweb_support import collect, open_starweb_adapter, place_orders, utc

from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.models import OrderChange
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]
FAR = utc(2030, 1, 1)
START = utc(2026, 2, 2, 8, 0, 0)


def list_pages(sim: StarwebSimulator) -> int:
    return sim.requests.count(("GET", "/orders"))


def ids_of(changes: list[OrderChange]) -> list[str]:
    return [c.shop_order_id for c in changes]


def assert_each_once(changes: list[OrderChange], expected: list[str]) -> None:
    counts = Counter(ids_of(changes))
    assert sorted(counts) == sorted(expected)
    assert set(counts.values()) == {1}


async def test_walks_every_page_and_yields_oldest_first(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    ids = place_orders(sim, clock, 23)
    async with open_adapter() as adapter:
        changes = await collect(adapter.changed_orders(START, FAR))
    assert ids_of(changes) == ids
    assert changes[0].modified_at == START and changes[0].modified_at.tzinfo is UTC
    assert changes[-1].modified_at == START + timedelta(minutes=22)
    assert {c.status for c in changes} == {"created"}
    assert list_pages(sim) >= 5


async def test_window_is_half_open(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    ids = place_orders(sim, clock, 6)
    since, until = START + timedelta(minutes=1), START + timedelta(minutes=4)
    async with open_adapter() as adapter:
        changes = await collect(adapter.changed_orders(since, until))
    assert ids_of(changes) == ids[1:4]


async def test_walk_stops_below_the_window(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    ids = place_orders(sim, clock, 23)
    since = START + timedelta(minutes=20)
    async with open_adapter() as adapter:
        changes = await collect(adapter.changed_orders(since, since + timedelta(minutes=2)))
        assert ids_of(changes) == ids[20:22]
        assert list_pages(sim) == 1  # the newest row is at `until`: no re-check needed
        later = await collect(adapter.changed_orders(since, since + timedelta(minutes=3)))
    assert ids_of(later) == ids[20:]
    assert list_pages(sim) == 3  # one page, and one re-read of the head for late edits


async def test_polling_with_overlapping_windows_finds_every_order(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    overlap = timedelta(minutes=5)
    placed: list[str] = []
    seen: list[OrderChange] = []
    since = START
    async with open_adapter() as adapter:
        for round_ in range(6):
            placed += place_orders(sim, clock, 4 + round_, step=47)
            if placed:
                sim.touch(placed[round_])  # an older order is edited now and then
            until = clock.now()
            window = await collect(adapter.changed_orders(since, until))
            assert all(since <= c.modified_at < until for c in window)
            assert len(set(ids_of(window))) == len(window)
            seen += window
            since = until - overlap
            clock.advance(1)
        seen += await collect(adapter.changed_orders(since, FAR))
    assert set(ids_of(seen)) == set(placed)


async def test_drift_while_paging_loses_and_repeats_nothing(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    ids = place_orders(sim, clock, 23)
    sim.knobs.drift = 4  # four pages each push the next page's first row to the front
    async with open_adapter() as adapter:
        changes = await collect(adapter.changed_orders(START, FAR))
    assert sim.knobs.drift == 0
    assert_each_once(changes, ids)
    touched = [c for c in changes if c.modified_at == clock.now()]
    assert len(touched) == 4
    assert ids_of(changes)[-4:] == sorted(ids_of(touched), key=int)


async def test_an_order_edited_mid_walk_before_until_is_found(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    ids = place_orders(sim, clock, 23)
    until = clock.now() + timedelta(seconds=1)  # the caller's window reaches "now"

    def edit_an_unread_order(page: int) -> None:
        if page == 1:
            sim.touch(ids[3])  # on page 4 at this moment; it jumps to page 1, already read

    sim.on_orders_page = edit_an_unread_order
    async with open_adapter() as adapter:
        changes = await collect(adapter.changed_orders(START, until))
    assert_each_once(changes, ids)
    assert changes[-1].shop_order_id == ids[3]
    assert changes[-1].modified_at == clock.now()


async def test_an_order_edited_after_until_waits_for_the_next_window(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    ids = place_orders(sim, clock, 12)
    until = clock.now()

    def edit(page: int) -> None:
        if page == 1:
            clock.advance(5)
            sim.touch(ids[2])

    sim.on_orders_page = edit
    async with open_adapter() as adapter:
        first = await collect(adapter.changed_orders(START, until))
        sim.on_orders_page = None
        second = await collect(adapter.changed_orders(until - timedelta(minutes=5), FAR))
    assert ids[2] not in ids_of(first)  # its only modifiedAt is now past `until`
    assert ids[2] in ids_of(second)
    assert set(ids_of(first)) | set(ids_of(second)) == set(ids)


async def test_duplicate_pages_are_deduplicated(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    ids = place_orders(sim, clock, 23)
    sim.knobs.duplicate_pages = True
    async with open_adapter() as adapter:
        changes = await collect(adapter.changed_orders(START, FAR))
    assert ids_of(changes) == ids


async def test_orders_placed_during_the_walk_are_not_lost(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    ids = place_orders(sim, clock, 17)
    late: list[str] = []

    def new_order(page: int) -> None:
        if len(late) < 3:
            late.append(sim.place_order(lines=[("TE-100", 1)], email="late@example.se"))

    sim.on_orders_page = new_order
    async with open_adapter() as adapter:
        changes = await collect(adapter.changed_orders(START, FAR))
    assert_each_once(changes, ids + late)


async def test_a_deletion_mid_walk_restarts_the_walk(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    ids = place_orders(sim, clock, 23)
    deleted: list[str] = []

    def delete_newest(page: int) -> None:
        if not deleted:
            deleted.append(ids[-1])
            sim.delete_order(ids[-1])  # every row moves up one: page 2 would skip a row

    sim.on_orders_page = delete_newest
    until = START + timedelta(minutes=22)  # the deleted order's time
    async with open_adapter() as adapter:
        changes = await collect(adapter.changed_orders(START, until))
    assert ids_of(changes) == ids[:-1]
    # two pages (the second shows the shrink), a full walk of 22 rows, one head re-check
    assert list_pages(sim) == 2 + 5 + 1


async def test_dst_end_timestamps_convert_to_utc() -> None:
    # Sweden leaves summer time at 01:00 UTC on 2026-10-25: 02:59+02:00 is followed by
    # 02:00+01:00, so local wall-clock strings go backwards while UTC moves on.
    clock = FakeClock(utc(2026, 10, 25, 0, 30))
    sim = StarwebSimulator(clock=clock, page_size=3)
    ids = place_orders(sim, clock, 9, step=600)
    async with open_starweb_adapter(sim, clock) as adapter:
        newest, _ = await adapter.order_page(1)
        oldest, _ = await adapter.order_page(3)
        changes = await collect(adapter.changed_orders(utc(2026, 10, 25), FAR))
        hour = await collect(
            adapter.changed_orders(utc(2026, 10, 25, 0, 55), utc(2026, 10, 25, 1, 25))
        )
    assert {row.modified_at.utcoffset() for row in newest} == {timedelta(hours=1)}
    assert {row.modified_at.utcoffset() for row in oldest} == {timedelta(hours=2)}
    assert ids_of(changes) == ids
    assert [c.modified_at for c in changes] == [
        utc(2026, 10, 25, 0, 30) + timedelta(minutes=10 * n) for n in range(9)
    ]
    assert ids_of(hour) == ids[3:6]  # 01:00, 01:10, 01:20 UTC = 02:00..02:20+01:00


async def test_dst_start_timestamps_convert_to_utc() -> None:
    clock = FakeClock(utc(2026, 3, 29, 0, 40))
    sim = StarwebSimulator(clock=clock, page_size=2)
    ids = place_orders(sim, clock, 5, step=600)
    async with open_starweb_adapter(sim, clock) as adapter:
        changes = await collect(adapter.changed_orders(utc(2026, 3, 29), FAR))
    assert [c.modified_at for c in changes] == [
        utc(2026, 3, 29, 0, 40) + timedelta(minutes=10 * n) for n in range(5)
    ]
    assert ids_of(changes) == ids


async def test_page_limit_is_a_safety_cap(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    place_orders(sim, clock, 23)
    async with open_adapter(page_limit=2) as adapter:
        with pytest.raises(PermanentError, match="page_limit"):
            await collect(adapter.changed_orders(START, FAR))


async def test_a_garbage_row_names_the_order_and_field(
    sim: StarwebSimulator,
    clock: FakeClock,
    open_adapter: Open,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ids = place_orders(sim, clock, 3)

    def naive(order: dict[str, Any]) -> None:
        order["modifiedAt"] = "2026-02-02T09:01:00"  # no offset

    sim.mangle_order(ids[1], naive)
    async with open_adapter() as adapter:
        changes = await collect(adapter.changed_orders(START, FAR))
    # the bad row is logged, and its order still reported (the full fetch decides)
    assert sorted(ids_of(changes)) == sorted(ids)
    assert any(
        f"Starweb order {ids[1]}: field `modifiedAt`" in r.getMessage() for r in caplog.records
    )


async def test_status_falls_back_to_the_status_table(
    sim: StarwebSimulator, clock: FakeClock, open_adapter: Open
) -> None:
    ids = place_orders(sim, clock, 2)
    sim.set_status(ids[0], "picking")
    for order_id in ids:
        sim.mangle_order(order_id, lambda order: order.pop("status", None))
    async with open_adapter() as adapter:
        changes = await collect(adapter.changed_orders(START, FAR))
    assert [c.status for c in changes] == ["created", "picking"]
    assert sim.requests.count(("GET", "/order-statuses")) == 1


async def test_naive_window_bounds_are_refused(open_adapter: Open) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(ValueError, match="timezone-aware"):
            await collect(adapter.changed_orders(datetime(2026, 1, 1), FAR))
