"""A list price for a new ERP article waits for the products flow to create it in the shop
(like its level, tests/sync/test_stock_new_articles.py), instead of an error record when its
price-list item runs before its product item; a shop the products flow does not feed keeps
the error record. On fake adapters (e-conomic, the simulated ERP of the stock tests, has no
price lists): a shop that refuses a list price for an SKU it lacks, as Starweb does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from catalog_fakes import FakeErp, FakeShop, article, catalog_flow, drain, poll

from brygga.catalog import ListPrice
from brygga.clock import FakeClock
from brygga.config import CatalogConfig, ShopCatalogConfig
from brygga.errors import PermanentError
from brygga.models import Register
from brygga.registers import Written
from brygga.store import ItemState, Store, WorkItem
from brygga.sync.article_wait import WAIT_DELAYS
from brygga.sync.flow import Flow

pytestmark = pytest.mark.anyio
START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
FED = {Register.PRODUCTS: "erp", Register.PRICES: "erp", Register.PRICE_LISTS: "erp"}
NOT_FED = {Register.PRICE_LISTS: "erp"}
SETTINGS = CatalogConfig(shops={"se": ShopCatalogConfig(price_lists={"Återförsäljare": "B2B"})})


class StrictShop(FakeShop):
    """Refuses a list price for an SKU it has no article of (Starweb: no product or variant
    with this SKU)."""

    async def put_list_price(self, target_list: str, price: ListPrice) -> Written:
        if price.sku not in self.articles:
            raise PermanentError(f"the shop has no article with SKU {price.sku}")
        return await super().put_list_price(target_list, price)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "state.db") as opened:
        yield opened


def _opened(
    store: Store, masters: dict[Register, str]
) -> tuple[FakeClock, FakeErp, StrictShop, Flow]:
    clock = FakeClock(START)
    erp, shop = FakeErp(clock), StrictShop(clock)
    flow = catalog_flow(
        store, clock, erp, {"se": shop}, masters=masters, settings=SETTINGS, orders=False
    )
    erp.set(article("NY-1", clock))
    erp.set_list_price(
        ListPrice(price_list="Återförsäljare", sku="NY-1", currency="SEK", price=Decimal(80))
    )
    return clock, erp, shop, flow


async def _item(store: Store) -> WorkItem:
    items = [i for i in await store.items.query() if i.register == "price_lists"]
    assert len(items) == 1
    return items[0]


async def _due_now(store: Store) -> None:
    await store.db.execute(
        "UPDATE work_items SET next_attempt = '2000-01-01T00:00:00.000000Z' WHERE state = 'retry'"
    )


async def test_a_list_price_run_before_its_product_waits_and_is_written_after_creation(
    store: Store,
) -> None:
    clock, _, shop, flow = _opened(store, FED)
    await poll(flow, "price_lists", clock)
    await poll(flow, "products", clock, seconds=0)
    assert await drain(flow, "price_lists") == ["retry"]
    item = await _item(store)
    assert item.last_error.startswith(
        "price_lists Återförsäljare/NY-1@1: waiting: shop se has no article NY-1 yet; the "
        "products flow creates it from erp"
    )
    assert await drain(flow, "products") == ["done"]
    assert "NY-1" in shop.articles
    await _due_now(store)
    assert await drain(flow, "price_lists") == ["done"]
    assert shop.list_prices["B2B", "NY-1"].price == Decimal(80)


async def test_a_list_price_whose_article_never_comes_becomes_an_error_record_after_the_waits(
    store: Store,
) -> None:
    clock, _, shop, flow = _opened(store, FED)
    await poll(flow, "price_lists", clock)
    for _ in WAIT_DELAYS:
        assert await drain(flow, "price_lists") == ["retry"]
        await _due_now(store)
    assert await drain(flow, "price_lists") == ["failed"]
    item = await _item(store)
    assert "shop se still has no article NY-1 after 6 tries" in item.last_error
    assert "look for products NY-1 for se in brygga errors" in item.last_error
    assert shop.list_price_writes == 0


async def test_a_shop_the_products_flow_does_not_feed_fails_the_record_at_once(
    store: Store,
) -> None:
    clock, _, _, flow = _opened(store, NOT_FED)
    await poll(flow, "price_lists", clock)
    assert await drain(flow, "price_lists") == ["failed"]
    item = await _item(store)
    assert item.state is ItemState.FAILED
    assert item.last_error == "the shop has no article with SKU NY-1"
