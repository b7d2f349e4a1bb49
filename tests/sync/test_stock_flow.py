"""The stock register on fake adapters: ERP levels reach every shop as available quantities,
orders in flight are taken off, and only changed levels are written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from catalog_fakes import FakeErp, FakeShop, article, catalog_flow, drain, poll

from brygga.catalog import StockLevel
from brygga.clock import FakeClock
from brygga.config import CatalogConfig, ShopCatalogConfig
from brygga.models import Register
from brygga.store import ItemState, Store
from brygga.sync.stock import available

pytestmark = pytest.mark.anyio
START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
ERP_MASTER = {Register.STOCK: "erp"}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "state.db") as opened:
        yield opened


def _sides(shops: tuple[str, ...] = ("se",)) -> tuple[FakeClock, FakeErp, dict[str, FakeShop]]:
    clock = FakeClock(START)
    return clock, FakeErp(clock), {name: FakeShop(clock) for name in shops}


async def test_an_erp_stock_change_reaches_every_shop(store: Store) -> None:
    clock, erp, shops = _sides(("se", "no"))
    flow = catalog_flow(store, clock, erp, shops, masters=ERP_MASTER)
    erp.set_stock("A-1", 7)
    erp.set_stock("B-2", 0)
    assert await poll(flow, "stock", clock) == 4  # one item per SKU and shop
    assert await drain(flow, "stock") == ["done"] * 4
    for shop in shops.values():
        assert shop.stock == {"A-1": Decimal(7), "B-2": Decimal(0)}


async def test_two_orders_in_flight_the_shop_never_shows_more_than_it_should(
    store: Store,
) -> None:
    clock, erp, shops = _sides()
    shop = shops["se"]
    flow = catalog_flow(store, clock, erp, shops, masters=ERP_MASTER)
    erp.set_stock("A-1", 10)
    await poll(flow, "stock", clock)
    await drain(flow, "stock")
    assert shop.stock["A-1"] == 10
    shop.place_order("1001", "A-1", 2)
    shop.place_order("1002", "A-1", 3)
    assert shop.stock["A-1"] == 5  # the shop took both sales off itself
    assert await poll(flow, "orders", clock) == 2  # received, not yet in the ERP
    erp.touch_stock("A-1")  # the ERP reports A-1 again, still at the old quantity
    await poll(flow, "stock", clock)
    assert await drain(flow, "stock") == ["done"]
    assert shop.shown["A-1"] == [Decimal(10), Decimal(5)], "a push undid a sale in flight"
    assert shop.order_fetches == 2  # each order's lines read once, by the stock item
    # the orders reach the ERP, which books them: its level falls to 5, and so nothing
    # changes for the shop
    assert await drain(flow, "orders") == ["done", "done"]
    assert erp.levels["A-1"] == 5
    writes = shop.stock_writes
    await poll(flow, "stock", clock)
    assert await drain(flow, "stock") == ["done"]
    assert shop.stock_writes == writes, "an unchanged level was written"
    assert max(shop.shown["A-1"][1:]) <= 5
    # a restock while a third order is in flight: 5 + 10 - 4
    shop.place_order("1003", "A-1", 4)
    await poll(flow, "orders", clock)
    erp.set_stock("A-1", 15)
    await poll(flow, "stock", clock)
    await drain(flow, "stock")
    assert shop.stock["A-1"] == 11


async def test_an_unchanged_level_costs_no_write(store: Store) -> None:
    clock, erp, shops = _sides()
    flow = catalog_flow(store, clock, erp, shops, masters=ERP_MASTER, orders=False)
    erp.set_stock("A-1", 4)
    await poll(flow, "stock", clock)
    await drain(flow, "stock")
    for _ in range(3):
        erp.touch_stock("A-1")
        await poll(flow, "stock", clock)
        assert await drain(flow, "stock") == ["done"]
    assert shops["se"].stock_writes == 1
    erp.set_stock("A-1", 3)
    await poll(flow, "stock", clock)
    await drain(flow, "stock")
    assert shops["se"].shown["A-1"] == [Decimal(4), Decimal(3)]


async def test_a_safety_buffer_per_shop_and_never_below_zero(store: Store) -> None:
    clock, erp, shops = _sides(("se", "no"))
    settings = CatalogConfig(shops={"se": ShopCatalogConfig(stock_buffer=Decimal(2))})
    flow = catalog_flow(store, clock, erp, shops, masters=ERP_MASTER, settings=settings)
    erp.set_stock("A-1", 10)
    erp.set_stock("B-2", 1)
    await poll(flow, "stock", clock)
    await drain(flow, "stock")
    assert shops["se"].stock == {"A-1": Decimal(8), "B-2": Decimal(0)}
    assert shops["no"].stock == {"A-1": Decimal(10), "B-2": Decimal(1)}
    assert available(Decimal(3), Decimal(5), Decimal(0)) == 0


async def test_bad_records_are_error_records_and_the_flow_goes_on(store: Store) -> None:
    clock, erp, shops = _sides()
    shop = shops["se"]
    shop.set(article("REFUSED-1", clock))
    shop.lacks_skus.update({"REFUSED-1", "FEE-1"})  # FEE-1: an ERP article the shop lacks
    flow = catalog_flow(store, clock, erp, shops, masters=ERP_MASTER, orders=False)
    erp.set_stock("REFUSED-1", 3)
    erp.set_stock("FEE-1", 9)
    erp.set_stock("A-1", 2)
    erp.levels[""] = Decimal(1)  # an ERP article without an article number
    erp.level_changed[""] = clock.now()
    await poll(flow, "stock", clock)
    assert sorted(await drain(flow, "stock")) == ["done", "failed", "failed", "skipped"]
    assert shop.stock == {"A-1": Decimal(2)}
    failed = await store.items.query(states=[ItemState.FAILED])
    errors = {item.external_id.split(" ")[0]: item.last_error for item in failed}
    assert errors["REFUSED-1"] == "the shop has no article with SKU REFUSED-1"
    assert "erp reported an article without an SKU (article number)" in errors["(no"]
    [skipped] = await store.items.query(states=[ItemState.SKIPPED])
    assert skipped.external_id == "FEE-1"
    assert skipped.last_error.startswith("stock FEE-1: shop se has no article FEE-1")


async def test_a_level_the_erp_no_longer_has_is_skipped(store: Store) -> None:
    clock, erp, shops = _sides()
    flow = catalog_flow(store, clock, erp, shops, masters=ERP_MASTER, orders=False)
    erp.set_stock("A-1", 2)
    await poll(flow, "stock", clock)
    del erp.levels["A-1"]
    assert await drain(flow, "stock") == ["skipped"]
    assert shops["se"].stock == {}


def test_a_stock_level_is_what_the_erp_can_sell() -> None:
    level = StockLevel(sku="A-1", quantity=Decimal("2.5"), modified_at=START)
    assert available(level.quantity, Decimal("0.5"), Decimal(0)) == 2
