"""Orders read in full with the order list: one request less per order, and the order's own
read wherever the listed copy cannot stand in for it.

Starweb's spec documents the same ``include`` children (items, externalServices, status,
customer, addresses) for ``GET /orders`` as for ``GET /orders/{orderId}`` (OpenAPI 2.11.0,
operations listOrders and getOrder; reference/shop-apis.md §2.3).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from brygga.clock import FakeClock
from brygga.store import ItemState
from brygga.testing import Fault, SimulatedConnection
from brygga_starweb.adapter import PREFETCH_FRESH

pytestmark = pytest.mark.anyio

ORDER_READ = re.compile(r"^/orders/\d+$")


def _order_reads(env: SimulatedConnection) -> list[str]:
    return [
        path for method, path in env.shop.requests if method == "GET" and ORDER_READ.match(path)
    ]


def _place(env: SimulatedConnection, n: int) -> list[str]:
    return [
        env.shop.place_order(
            lines=[("KAFFE-500", 1), ("TE-100", 2)],
            email=f"kund{i}@example.se",
            freight=Decimal("49.00"),
        )
        for i in range(n)
    ]


async def test_listed_orders_transfer_without_reading_each_order(env: SimulatedConnection) -> None:
    oids = _place(env, 3)
    flow = env.flow()
    assert await flow.poll_once(env.shop_name) == 3
    assert await env.drain(flow) == [ItemState.DONE] * 3
    assert _order_reads(env) == []
    for oid in oids:
        assert env.copies(oid) == 1
        [document] = [
            d
            for d in env.erp.docs.all()
            if d.body.get("references", {}).get("other") == env.reference(oid)
        ]
        assert document.body["grossAmount"] == env.shop.order_total(oid)[0]


@pytest.mark.orders_read_alone
async def test_with_orders_from_list_off_each_order_is_read(env: SimulatedConnection) -> None:
    oids = _place(env, 2)
    flow = env.flow()
    await flow.poll_once(env.shop_name)
    assert await env.drain(flow) == [ItemState.DONE] * 2
    assert sorted(_order_reads(env)) == sorted(f"/orders/{oid}" for oid in oids)


async def test_a_retry_reads_the_order_again(env: SimulatedConnection) -> None:
    [oid] = _place(env, 1)
    flow = env.flow()
    await flow.poll_once(env.shop_name)
    env.erp.faults.add(Fault("status", status=503, path="/customers", times=1))
    assert await env.drain(flow) == [ItemState.RETRY, ItemState.DONE]
    # the listed copy served the first attempt only; the retry read the order itself
    assert _order_reads(env) == [f"/orders/{oid}"]
    assert env.copies(oid) == 1


async def test_a_retry_after_a_poll_that_listed_the_same_version_reads_the_order(
    env: SimulatedConnection,
) -> None:
    # each poll lists the overlap window again: a version of the order whose copy a transfer
    # already used must not be offered again, or a retry right after a fix in the shop (before
    # the next poll sees it) sends the order as it was (operator QA pass, errors retry)
    [oid] = _place(env, 1)
    flow = env.flow()
    await flow.poll_once(env.shop_name)
    env.erp.faults.add(Fault("status", status=503, path="/customers", times=1))
    item = await flow.claim("orders")
    assert item is not None and await flow.process(item) is ItemState.RETRY
    await flow.poll_once(env.shop_name)  # lists the same version again
    env.shop.order(oid).items[0].quantity = 5  # fixed in the shop; the next poll is later
    assert await env.drain(flow) == [ItemState.DONE]
    assert _order_reads(env) == [f"/orders/{oid}"]
    [document] = [
        d
        for d in env.erp.docs.all()
        if d.body.get("references", {}).get("other") == env.reference(oid)
    ]
    assert document.body["grossAmount"] == env.shop.order_total(oid)[0]


async def test_a_stale_listed_order_is_read_again(tmp_path: Path) -> None:
    # the simulator dates orders by the system clock: start the fake one just after it
    clock = FakeClock(datetime.now(UTC) + timedelta(seconds=1))
    async with SimulatedConnection.open(tmp_path, shop_options={"seed": 3}, clock=clock) as env:
        [oid] = _place(env, 1)
        flow = env.flow()
        await flow.poll_once(env.shop_name)
        clock.advance(PREFETCH_FRESH + 1)
        assert await env.drain(flow) == [ItemState.DONE]
        assert _order_reads(env) == [f"/orders/{oid}"]


async def test_a_list_row_that_is_no_full_order_falls_back_to_the_orders_own_read(
    env: SimulatedConnection,
) -> None:
    first, victim = _place(env, 2)

    def huge_quantity(order: dict[str, Any]) -> None:
        order["items"]["data"][0]["quantity"] = 1e400

    # the row still reads as a list row (id, modifiedAt, status), not as an order in full:
    # the order's own read then decides, and the victim fails alone with its sentence
    env.shop.mangle_order(victim, huge_quantity)
    flow = env.flow()
    assert await flow.poll_once(env.shop_name) == 2
    await env.drain(flow)
    assert _order_reads(env) == [f"/orders/{victim}"]
    assert (await env.item(first)).state is ItemState.DONE
    failed = await env.item(victim)
    assert failed.state is ItemState.FAILED
    assert victim in failed.last_error and "quantity" in failed.last_error
    assert env.copies(victim) == 0


async def test_a_list_without_the_children_reads_each_order(env: SimulatedConnection) -> None:
    # a shop that leaves included children out of list rows (the spec says it should not):
    # without the export mark and the lines, the listed row cannot stand in for the order
    oids = _place(env, 2)

    def listed_without_children(order: dict[str, Any]) -> None:
        order.pop("externalServices", None)

    for oid in oids:
        env.shop.mangle_order(oid, listed_without_children)
    flow = env.flow()
    await flow.poll_once(env.shop_name)
    assert await env.drain(flow) == [ItemState.DONE] * 2
    assert sorted(_order_reads(env)) == sorted(f"/orders/{oid}" for oid in oids)
    for oid in oids:
        assert env.copies(oid) == 1
