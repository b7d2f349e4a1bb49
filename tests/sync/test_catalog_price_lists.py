"""Price lists on fake adapters: ERP list prices reach the shop list each shop maps them to,
unmapped lists stay out, unchanged prices cost no write."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from catalog_fakes import FakeErp, FakeShop, catalog_flow, drain, poll

from brygga.catalog import ListPrice
from brygga.clock import FakeClock
from brygga.config import CatalogConfig, ShopCatalogConfig
from brygga.models import Register
from brygga.store import ItemState, Store

pytestmark = pytest.mark.anyio
START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
MASTERS = {Register.PRICE_LISTS: "erp"}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "state.db") as opened:
        yield opened


def _price(sku: str, price: str, price_list: str = "Återförsäljare", **kw: object) -> ListPrice:
    return ListPrice(price_list=price_list, sku=sku, currency="SEK", price=Decimal(price), **kw)  # type: ignore[arg-type]


async def test_list_prices_reach_each_shops_mapped_list(store: Store) -> None:
    clock = FakeClock(START)
    erp, se, no = FakeErp(clock), FakeShop(clock), FakeShop(clock)
    settings = CatalogConfig(
        shops={
            "se": ShopCatalogConfig(price_lists={"Återförsäljare": "B2B"}),
            "no": ShopCatalogConfig(price_lists={"Återförsäljare": "Forhandler"}),
        }
    )
    flow = catalog_flow(
        store, clock, erp, {"se": se, "no": no}, masters=MASTERS, settings=settings, orders=False
    )
    erp.set_list_price(_price("A-1", "80"))
    erp.set_list_price(_price("A-1", "70", min_quantity=Decimal(10)))
    erp.set_list_price(_price("A-1", "50", price_list="Personal"))  # mapped by no shop
    assert await poll(flow, "price_lists", clock) == 4
    assert await drain(flow, "price_lists") == ["done"] * 4
    assert se.list_prices["B2B", "A-1"].price in (Decimal(80), Decimal(70))
    assert {list_name for list_name, _ in no.list_prices} == {"Forhandler"}
    assert (se.list_price_writes, no.list_price_writes) == (2, 2)
    # the feed reports the same prices again (an overlapping window): nothing is written
    await poll(flow, "price_lists", clock)
    await drain(flow, "price_lists")
    assert (se.list_price_writes, no.list_price_writes) == (2, 2)
    # a new price is
    erp.list_prices.clear()
    erp.set_list_price(_price("A-1", "75"))
    await poll(flow, "price_lists", clock)
    assert await drain(flow, "price_lists") == ["done", "done"]
    assert (se.list_price_writes, no.list_price_writes) == (3, 3)
    assert await store.items.query(states=[ItemState.FAILED]) == []
