"""Catalog items reopen on a newer change, remember what was written, and see stock held by
orders in flight; orders keep their never-reopen behaviour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from brygga.store import (
    Discovered,
    ItemState,
    OrderLines,
    Outcome,
    Reads,
    Store,
    WorkItem,
)

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
T1 = NOW - timedelta(minutes=10)
T2 = NOW - timedelta(minutes=5)


async def _enqueue(
    store: Store,
    external_id: str,
    when: datetime,
    *,
    register: str = "stock",
    instance: str = "se",
    reopen: bool = True,
    payload: bytes | None = None,
) -> int:
    return await store.items.enqueue_many(
        connection="c",
        register=register,
        instance=instance,
        records=[Discovered(external_id, True, when, payload, reopen=reopen)],
        now=NOW,
    )


async def _claim(store: Store, register: str = "stock", reads: Reads | None = None) -> WorkItem:
    item = await store.items.claim(
        connection="c", register=register, now=NOW, run_id="r", reads=reads
    )
    assert item is not None
    return item


async def _state(store: Store, item: WorkItem) -> ItemState:
    found = await store.items.get(item.id)
    assert found is not None
    return found.state


async def test_a_newer_change_reopens_a_finished_catalog_item(store: Store) -> None:
    assert await _enqueue(store, "A-1", T1, payload=b"old") == 1
    item = await _claim(store)
    await store.items.apply(item, Outcome(state="done"), NOW)
    assert await _enqueue(store, "A-1", T1) == 0  # the same change seen again: nothing
    assert await _state(store, item) is ItemState.DONE
    assert await _enqueue(store, "A-1", T2, payload=b"new") == 1
    again = await _claim(store)
    assert (again.id, again.payload, again.attempts) == (item.id, b"new", 1)


async def test_a_failed_catalog_item_is_tried_again_on_a_newer_change(store: Store) -> None:
    await _enqueue(store, "A-1", T1)
    item = await _claim(store)
    await store.items.apply(item, Outcome(state="failed", error="unknown VAT rate"), NOW)
    assert await _enqueue(store, "A-1", T2) == 1
    assert await _state(store, item) is ItemState.NEW


async def test_orders_never_reopen(store: Store) -> None:
    await _enqueue(store, "1001", T1, register="orders", reopen=False)
    item = await _claim(store, "orders")
    await store.items.apply(item, Outcome(state="done"), NOW)
    assert await _enqueue(store, "1001", T2, register="orders", reopen=False) == 0
    assert await _state(store, item) is ItemState.DONE


async def test_a_change_during_the_attempt_queues_the_item_again(store: Store) -> None:
    await _enqueue(store, "A-1", T1)
    item = await _claim(store)
    assert await _enqueue(store, "A-1", T2) == 0  # in flight: noted, not claimable twice
    await store.items.apply(item, Outcome(state="done"), NOW)
    assert await _state(store, item) is ItemState.NEW


async def test_no_change_during_the_attempt_leaves_it_done(store: Store) -> None:
    await _enqueue(store, "A-1", T1)
    item = await _claim(store)
    await _enqueue(store, "A-1", T1)
    await store.items.apply(item, Outcome(state="done"), NOW)
    assert await _state(store, item) is ItemState.DONE


async def test_one_change_fans_out_to_one_item_per_target(store: Store) -> None:
    for shop in ("se", "no"):
        await _enqueue(store, "A-1", T1, instance=shop)
    first, second = await _claim(store), await _claim(store)
    assert {first.instance, second.instance} == {"se", "no"}


async def test_the_claim_reads_what_was_last_written_per_target(store: Store) -> None:
    await _enqueue(store, "A-1", T1, instance="se")
    await _enqueue(store, "A-1", T1, instance="no")
    item = await _claim(store, reads=Reads(written=True))
    assert item.written == ""
    await store.items.apply(item, Outcome(state="done", written="h1"), NOW)
    other = await _claim(store, reads=Reads(written=True))
    assert other.instance != item.instance and other.written == ""
    await store.items.apply(other, Outcome(state="done"), NOW)
    await _enqueue(store, "A-1", T2, instance=item.instance)
    again = await _claim(store, reads=Reads(written=True))
    assert (again.id, again.written) == (item.id, "h1")
    await store.items.apply(again, Outcome(state="done"), NOW)  # None keeps the hash
    await store.prune_history(NOW + timedelta(days=1))  # finished items are forgotten ...
    assert await store.items.get(item.id) is None
    await _enqueue(store, "A-1", NOW, instance=item.instance)
    fresh = await _claim(store, reads=Reads(written=True))
    assert fresh.written == "h1"  # ... what was written is not


async def _order(store: Store, order_id: str, shop: str = "se") -> WorkItem:
    await _enqueue(store, order_id, T1, register="orders", instance=shop, reopen=False)
    found = await store.items.find(
        connection="c", register="orders", instance=shop, external_id=order_id
    )
    assert found is not None
    return found


async def test_the_claim_sums_the_stock_held_by_orders_in_flight(store: Store) -> None:
    first, second, third = [await _order(store, n) for n in ("1", "2", "3")]
    await _enqueue(store, "A-1", T1)
    stock = await _claim(store, reads=Reads(reserved_by="orders"))
    assert stock.reserved is not None
    assert [p.external_id for p in stock.reserved.unknown] == ["1", "2", "3"]
    assert stock.reserved.quantity == 0
    lines = (
        OrderLines(first.id, (("A-1", Decimal(2)), ("B-2", Decimal(1)))),
        OrderLines(second.id, (("A-1", Decimal("1.5")),)),
        OrderLines(third.id, ()),  # no article lines: known all the same
    )
    await store.items.apply(stock, Outcome(state="done", order_lines=lines), NOW)
    # the first order reaches the ERP: what it held is no longer taken off
    order = await _claim(store, "orders")
    assert order.id == first.id
    await store.items.apply(order, Outcome(state="done"), NOW)
    await _enqueue(store, "A-1", T2)
    again = await _claim(store, reads=Reads(reserved_by="orders"))
    assert again.reserved is not None
    assert (again.reserved.quantity, again.reserved.unknown) == (Decimal("1.5"), ())


async def test_orders_of_another_connection_hold_nothing_here(store: Store) -> None:
    await store.items.enqueue_many(
        connection="other",
        register="orders",
        instance="se",
        records=[Discovered("9", True, T1)],
        now=NOW,
    )
    await _enqueue(store, "A-1", T1)
    stock = await _claim(store, reads=Reads(reserved_by="orders"))
    assert stock.reserved is not None and stock.reserved.unknown == ()
