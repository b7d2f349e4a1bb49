"""Orders with one ``modifiedAt`` (a bulk edit) are each found once, in any tie order.

The spec's ``GET /orders`` sorts by ``sortBy`` with no tie-breaker (sortBy/sortOrder are its
only ordering parameters; resources/specification/openapi.json in starweb/shop-api-sdk-php,
operation listOrders), so a server may list tied rows differently on every request, and a
walk over page numbers can repeat some and skip others where they straddle a page boundary.
The simulator now shuffles ties per request (seeded); the old walk, which paged through them
once, lost orders here.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from starweb_support import collect, open_starweb_adapter, place_orders, utc

from brygga.clock import FakeClock
from brygga.models import OrderChange
from brygga_starweb.feed import OrderListWalk
from brygga_starweb.simulator import StarwebSimulator
from brygga_starweb.wire import OrderSummary, Pagination

pytestmark = pytest.mark.anyio

START = utc(2026, 2, 2, 8, 0, 0)
FAR = utc(2030, 1, 1)


def stamp(sim: StarwebSimulator, ids: list[str]) -> None:
    """A bulk edit in the admin: every order gets the same ``modifiedAt`` (now)."""
    for order_id in ids:
        sim.touch(order_id)


def assert_each_once(changes: list[OrderChange], expected: list[str]) -> None:
    counts = Counter(c.shop_order_id for c in changes)
    missing = sorted(set(expected) - set(counts), key=int)
    assert not missing, f"{len(missing)} order(s) not found: {missing[:10]}"
    assert sorted(counts, key=int) == sorted(expected, key=int)
    assert set(counts.values()) == {1}


def list_reads(sim: StarwebSimulator) -> int:
    return sim.requests.count(("GET", "/orders"))


# -- the simulator ------------------------------------------------------------------------


async def test_the_simulator_lists_ties_in_a_new_order_per_request() -> None:
    async def first_page(sim: StarwebSimulator, clock: FakeClock) -> list[list[int]]:
        async with open_starweb_adapter(sim, clock) as adapter:
            return [[row.order_id for row in (await adapter.order_page(1))[0]] for _ in range(3)]

    pages = []
    for seed, shuffle in ((7, True), (7, True), (7, False)):
        clock = FakeClock(START)
        sim = StarwebSimulator(clock=clock, seed=seed, page_size=100, shuffle_ties=shuffle)
        for n in range(30):
            sim.place_order(lines=[("TE-100", 1)], email=f"t{n}@example.se")
        pages.append(await first_page(sim, clock))
    shuffled, replayed, ordered = pages
    assert len({tuple(page) for page in shuffled}) == 3  # another order on every request
    assert sorted(shuffled[0]) == sorted(ordered[0])
    assert shuffled == replayed  # the same seed, the same orders
    assert ordered == [sorted(ordered[0], reverse=True)] * 3  # unshuffled: by orderId


# -- the change feed ----------------------------------------------------------------------


@pytest.mark.parametrize(("page_size", "seed"), [(100, 0), (100, 1), (100, 2), (30, 3), (7, 4)])
async def test_a_bulk_edit_of_160_orders_is_found_whole(page_size: int, seed: int) -> None:
    clock = FakeClock(START)
    sim = StarwebSimulator(clock=clock, seed=seed, page_size=page_size)
    older = place_orders(sim, clock, 20)
    bulk = place_orders(sim, clock, 160, step=37)
    clock.advance(3600)
    stamp(sim, bulk)  # one second for all 160
    clock.advance(60)
    newer = place_orders(sim, clock, 12)
    since = clock.now() - timedelta(hours=2)
    async with open_starweb_adapter(sim, clock) as adapter:
        changes = await collect(adapter.changed_orders(since, FAR))
        assert_each_once(changes, bulk + newer)
        again = await collect(adapter.changed_orders(since, FAR))  # another poll, other ties
    assert_each_once(again, bulk + newer)
    assert not set(older) & {c.shop_order_id for c in changes}


async def test_ties_created_in_one_second_are_read_by_order_id() -> None:
    # nothing tells them apart but orderId: an import created them, a bulk edit stamped them
    clock = FakeClock(START)
    sim = StarwebSimulator(clock=clock, seed=5, page_size=40)
    imported = [
        sim.place_order(lines=[("TE-100", 1)], email=f"i{n}@example.se") for n in range(150)
    ]
    clock.advance(60)
    others = place_orders(sim, clock, 30, step=1)
    stamp(sim, imported)
    async with open_starweb_adapter(sim, clock) as adapter:
        changes = await collect(adapter.changed_orders(START, FAR))
    assert_each_once(changes, imported + others)


async def test_ties_at_the_window_floor_are_found_whole() -> None:
    clock = FakeClock(START)
    sim = StarwebSimulator(clock=clock, seed=6, page_size=25)
    bulk = place_orders(sim, clock, 60, step=11)
    clock.advance(600)
    stamp(sim, bulk)
    floor = clock.now()
    clock.advance(60)
    newer = place_orders(sim, clock, 10)
    async with open_starweb_adapter(sim, clock) as adapter:
        changes = await collect(adapter.changed_orders(floor, FAR))
        below = await collect(adapter.changed_orders(START, floor))
    assert_each_once(changes, bulk + newer)
    assert below == []  # the window is half open: the stamp belongs to the later one


async def test_ties_within_one_page_cost_no_extra_request() -> None:
    clock = FakeClock(START)
    sim = StarwebSimulator(clock=clock, seed=8, page_size=100)
    bulk = place_orders(sim, clock, 60, step=13)
    clock.advance(600)
    stamp(sim, bulk)
    async with open_starweb_adapter(sim, clock) as adapter:
        changes = await collect(adapter.changed_orders(START, FAR))
    assert_each_once(changes, bulk)
    assert list_reads(sim) == 2  # the page, and its re-read for late edits (until is ahead)


@pytest.mark.parametrize(("shuffle", "reads"), [(True, 4 + 3), (False, 4)])
async def test_a_straddling_bulk_edit_costs_a_few_requests(shuffle: bool, reads: int) -> None:
    clock = FakeClock(START)
    sim = StarwebSimulator(clock=clock, seed=9, page_size=100, shuffle_ties=shuffle)
    bulk = place_orders(sim, clock, 160, step=37)
    clock.advance(600)
    stamp(sim, bulk)
    async with open_starweb_adapter(sim, clock) as adapter:
        changes = await collect(adapter.changed_orders(START, FAR))
    assert_each_once(changes, bulk)
    # the walk's 2 pages and their re-read for late edits; with ties shuffled, three ranges
    # of creation times of one page each. A server that keeps its tie order shows as many
    # orders as the group has positions: seen whole, nothing more is read
    assert list_reads(sim) == reads


async def test_a_tie_group_that_never_settles_is_logged_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # a server whose every page is full of ties at one time, whatever the filter: the
    # settling reads at most page_limit pages in all, then logs, and the walk's rows stand
    when = utc(2026, 2, 2, 9, 0, 0)

    def row(order_id: int) -> OrderSummary:
        return OrderSummary(
            order_id=order_id, modified_at=when, status_id=1, created_at=when - timedelta(hours=1)
        )

    pagination = Pagination(current_page=1, per_page=2, total=10, count=2, total_pages=5)

    async def page(number: int) -> tuple[list[OrderSummary], Pagination]:
        return [row(number), row(number + 1)], pagination  # one repeats on each page

    async def filtered(
        number: int,
        *,
        sort_by: str,
        created_after: datetime | None,
        created_before: datetime | None,
        ascending: bool = False,
    ) -> tuple[list[OrderSummary], Pagination]:
        filtered.calls += 1  # type: ignore[attr-defined]
        return [row(100 + number), row(200 + number)], pagination

    filtered.calls = 0  # type: ignore[attr-defined]
    walk = OrderListWalk(page, START, FAR, page_limit=12, shop="se", read_filtered=filtered)
    await walk.run()
    assert filtered.calls == 12  # type: ignore[attr-defined]
    assert set(walk.rows) >= {1, 2, 3, 4, 5, 6}
    assert any("without finding all of them" in r.getMessage() for r in caplog.records)


async def test_a_settled_group_is_not_read_again_by_the_next_poll() -> None:
    clock = FakeClock(START)
    sim = StarwebSimulator(clock=clock, seed=10, page_size=100)
    bulk = place_orders(sim, clock, 160, step=37)
    clock.advance(600)
    stamp(sim, bulk)
    clock.advance(60)
    newer = place_orders(sim, clock, 3)  # the list's head has moved past the bulk edit

    async with open_starweb_adapter(sim, clock) as adapter:
        first = await collect(adapter.changed_orders(START, FAR))
        reads = list_reads(sim)
        second = await collect(adapter.changed_orders(START, FAR))
    assert_each_once(first, bulk + newer)
    assert_each_once(second, bulk + newer)
    # the first poll: 2 pages, a re-read of the head, 3 narrowed reads; the second only walks
    assert (reads, list_reads(sim) - reads) == (6, 3)


async def test_a_group_at_the_window_end_is_left_to_the_next_poll() -> None:
    # more orders may still get the window's last second: the next poll, whose window
    # overlaps it, reads the group whole
    clock = FakeClock(START)
    sim = StarwebSimulator(clock=clock, seed=11, page_size=100)
    bulk = place_orders(sim, clock, 160, step=37)
    clock.advance(600)
    stamp(sim, bulk)
    until = clock.now() + timedelta(seconds=1)
    async with open_starweb_adapter(sim, clock) as adapter:
        first = await collect(adapter.changed_orders(START, until))
        reads = list_reads(sim)
        clock.advance(30)
        second = await collect(adapter.changed_orders(until - timedelta(minutes=5), FAR))
    assert reads == 4  # the walk and its head re-read, nothing narrowed
    assert len(first) < 160  # what the walk saw, each once
    assert len({c.shop_order_id for c in first}) == len(first)
    assert_each_once(second, bulk)
