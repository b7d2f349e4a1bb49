"""The e-conomic simulator's product catalog speaks what the docs say, over raw HTTP.

e-conomic/slate ``source/includes/_introduction.md``: ``filter=`` with ``$gte:``/``$lt:``,
``sort=`` (case-insensitive, ``-`` descending, 400 on a property that is not sortable); the
products schema: ``lastUpdated`` ISO-8601, moved by direct edits and inventory changes;
``inventory`` read-only and present only with the inventory module; ``productNumber`` 1-25
characters (reference/erp-apis.md §1.3, §1.6, §1.8).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx
import msgspec
import pytest

from brygga.clock import FakeClock
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

Api = Callable[[], httpx.AsyncClient]


def numbers(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [p["productNumber"] for p in response.json()["collection"]]


async def test_last_updated_filter_compares_points_in_time(
    sim: EconomicSimulator, clock: FakeClock, api: Api
) -> None:
    clock.advance(3600 * 30)  # 2026-01-02T06:00:00Z
    sim.set_price("TE-100", Decimal("47.00"))
    async with api() as client:
        by_instant = await client.get(
            "/products", params={"filter": "lastUpdated$gte:2026-01-02T06:00:00Z"}
        )
        by_offset = await client.get(  # the same instant as text that sorts later
            "/products", params={"filter": "lastUpdated$gte:2026-01-02T07:00:00+01:00"}
        )
        by_date = await client.get("/products", params={"filter": "lastUpdated$gt:2026-01-02"})
        before = await client.get(
            "/products",
            params={"filter": "lastUpdated$lt:2026-01-02T06:00:00+00:00$and:name$like:te"},
        )
    assert numbers(by_instant) == ["TE-100"]
    assert numbers(by_offset) == ["TE-100"]
    assert numbers(by_date) == ["TE-100"]
    assert "TE-100" not in numbers(before)
    assert by_instant.json()["collection"][0]["lastUpdated"] == "2026-01-02T06:00:00Z"


async def test_sort_orders_products_case_insensitively(sim: EconomicSimulator, api: Api) -> None:
    sim.add_article("a-liten", "liten", Decimal(1), Decimal(25))
    async with api() as client:
        ascending = numbers(await client.get("/products", params={"sort": "productNumber"}))
        descending = numbers(await client.get("/products", params={"sort": "-productNumber"}))
        refused = await client.get("/products", params={"sort": "inventory"})
    assert ascending[:2] == ["a-liten", "avrundning"]
    assert descending == list(reversed(ascending))
    assert refused.status_code == 400 and "not sortable" in refused.json()["message"]


async def test_inventory_shows_only_with_the_module(
    sim: EconomicSimulator, clock: FakeClock, api: Api
) -> None:
    sim.set_stock("KAFFE-500", Decimal(10), ordered=Decimal(3))
    async with api() as client:
        without = (await client.get("/products/KAFFE-500")).json()
        groups_without = (await client.get("/product-groups")).json()["collection"]
        sim.set_inventory_module(True)
        clock.advance(5)
        sim.set_stock("KAFFE-500", Decimal(10), ordered=Decimal(4))
        with_module = (await client.get("/products/KAFFE-500")).json()
        groups = (await client.get("/product-groups")).json()["collection"]
    assert "inventory" not in without
    assert not any("inventoryEnabled" in g for g in groups_without)  # false is left out
    assert all(g["inventoryEnabled"] is True for g in groups)
    assert with_module["inventory"]["inStock"] == 10
    assert with_module["inventory"]["available"] == 6
    assert with_module["lastUpdated"] == "2026-01-01T00:00:05Z"  # moved by the stock change


async def test_put_echoing_inventory_does_not_change_stock(
    sim: EconomicSimulator, api: Api
) -> None:
    sim.set_inventory_module(True)
    sim.set_stock("TE-100", Decimal(5))
    async with api() as client:
        product = (await client.get("/products/TE-100")).json()
        product["inventory"]["available"] = 999
        product["name"] = "Te Earl Grey"
        put = await client.put(
            "/products/TE-100",
            content=msgspec.json.encode(product),
            headers={"Content-Type": "application/json"},
        )
    assert put.status_code == 200, put.text
    assert put.json()["name"] == "Te Earl Grey"
    assert put.json()["inventory"]["available"] == 5


async def test_the_inventory_module_refuses_order_writes(sim: EconomicSimulator, api: Api) -> None:
    # reference/erp-apis.md §1.6 Orders: "Not supported for agreements with the inventory
    # module"; invoices still work
    sim.set_inventory_module(True)
    async with api() as client:
        refused = await client.post("/orders/drafts", json={})
        listed = await client.get("/orders/drafts")
    assert refused.status_code == 400
    assert "inventory module" in refused.json()["message"]
    assert listed.status_code == 200
