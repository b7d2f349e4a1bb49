"""Products and prices on fake adapters, in each mode: from the master side to the other,
changed-only, create/update switches, prices on their own in combo, echoes not sent again,
and bad data as error records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from catalog_fakes import FakeErp, FakeShop, article, catalog_flow, drain, poll

from brygga.clock import FakeClock
from brygga.config import CatalogConfig
from brygga.errors import PermanentError
from brygga.models import Register
from brygga.store import ItemState, Store

pytestmark = pytest.mark.anyio
START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
ERP = {Register.PRODUCTS: "erp", Register.PRICES: "erp"}
COMBO = {Register.PRODUCTS: "shop", Register.PRICES: "erp"}
ECOM = {Register.PRODUCTS: "shop", Register.PRICES: "off"}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "state.db") as opened:
        yield opened


def _sides(shops: tuple[str, ...] = ("se",)) -> tuple[FakeClock, FakeErp, dict[str, FakeShop]]:
    clock = FakeClock(START)
    return clock, FakeErp(clock), {name: FakeShop(clock) for name in shops}


async def test_erp_mode_articles_with_prices_reach_every_shop_once(store: Store) -> None:
    clock, erp, shops = _sides(("se", "no"))
    flow = catalog_flow(store, clock, erp, shops, masters=ERP, orders=False)
    assert {d.register for d in flow.discoverers} == {"products"}  # prices go along
    erp.set(article("A-1", clock, price=Decimal("80.00"), campaign_price=Decimal(60)))
    erp.set(article("B-2", clock, product_sku="B", variant_name="Storlek M"))
    assert await poll(flow, "products", clock) == 4
    assert await drain(flow, "products") == ["done"] * 4
    for shop in shops.values():
        assert shop.articles["A-1"].price == Decimal(80)
        assert shop.articles["A-1"].campaign_price == Decimal(60)
        assert shop.articles["B-2"].variant_name == "Storlek M"
    # a change time that moves with nothing changed costs no write; a new name does
    erp.touch("A-1")
    erp.set(article("B-2", clock, product_sku="B", variant_name="Storlek M"))  # the same
    await poll(flow, "products", clock)
    assert await drain(flow, "products") == ["done"] * 4
    assert [len(shop.writes) for shop in shops.values()] == [2, 2]
    erp.set(article("A-1", clock, name="Kaffe 500 g", price=Decimal(80)))
    await poll(flow, "products", clock)
    await drain(flow, "products")
    assert [shop.articles["A-1"].name for shop in shops.values()] == ["Kaffe 500 g"] * 2
    assert [len(shop.writes) for shop in shops.values()] == [3, 3]


async def test_create_and_update_can_each_be_switched_off(store: Store) -> None:
    clock, erp, shops = _sides()
    shop = shops["se"]
    shop.set(article("OLD-1", clock, name="Old name"))
    settings = CatalogConfig(create=False)
    flow = catalog_flow(store, clock, erp, shops, masters=ERP, settings=settings, orders=False)
    erp.set(article("OLD-1", clock, name="New name"))
    erp.set(article("NEW-1", clock))
    await poll(flow, "products", clock)
    assert sorted(await drain(flow, "products")) == ["done", "skipped"]
    assert "NEW-1" not in shop.articles and shop.articles["OLD-1"].name == "New name"
    [skipped] = await store.items.query(states=[ItemState.SKIPPED])
    assert skipped.external_id == "NEW-1"
    assert "creating or updating articles is switched off" in skipped.last_error

    flow = catalog_flow(
        store, clock, erp, shops, masters=ERP, settings=CatalogConfig(update=False), orders=False
    )
    erp.set(article("OLD-1", clock, name="Newer name"))
    erp.set(article("NEW-1", clock, name="Now created"))
    await poll(flow, "products", clock)
    await drain(flow, "products")
    assert shop.articles["OLD-1"].name == "New name"  # not updated
    assert shop.articles["NEW-1"].name == "Now created"


async def test_combo_products_from_the_shop_prices_from_the_erp_and_no_echo(
    store: Store,
) -> None:
    clock, erp, shops = _sides()
    shop = shops["se"]
    flow = catalog_flow(store, clock, erp, shops, masters=COMBO, orders=False)
    assert {d.register: list(d.instances) for d in flow.discoverers} == {
        "products": ["se"],
        "prices": ["erp"],
    }
    shop.set(article("A-1", clock, name="Kaffe", price=Decimal(99)))
    erp.set(article("A-1", clock, name="kaffe", price=Decimal(120)))
    await poll(flow, "products", clock)
    assert await drain(flow, "products") == ["done"]
    assert erp.articles["A-1"].name == "Kaffe"
    assert erp.articles["A-1"].price == Decimal(120), "the shop's price is not the master"
    await poll(flow, "prices", clock)
    assert await drain(flow, "prices") == ["done"]
    assert shop.articles["A-1"].price == Decimal(120)
    # the shop reports A-1 changed (the daemon's own price write): it is looked at, found
    # the same as what was last written to the ERP, and not sent again
    erp_writes, shop_writes = len(erp.writes), len(shop.writes)
    assert await poll(flow, "products", clock) == 1
    assert await drain(flow, "products") == ["done"]
    await poll(flow, "prices", clock)
    await drain(flow, "prices")
    assert (len(erp.writes), len(shop.writes)) == (erp_writes, shop_writes)
    # a new ERP price goes to the shop, and only the price
    erp.set(msgspec.structs.replace(erp.articles["A-1"], price=Decimal(110)))
    await poll(flow, "prices", clock)
    assert await drain(flow, "prices") == ["done"]
    assert (shop.articles["A-1"].name, shop.articles["A-1"].price) == ("Kaffe", Decimal(110))


async def test_ecom_mode_products_from_every_shop_reach_the_erp(store: Store) -> None:
    clock, erp, shops = _sides(("se", "no"))
    flow = catalog_flow(store, clock, erp, shops, masters=ECOM, orders=False)
    shops["se"].set(article("A-1", clock, price=Decimal(10)))
    shops["no"].set(article("N-1", clock, price=Decimal(20)))
    assert await poll(flow, "products", clock) == 2
    await drain(flow, "products")
    assert {sku: a.price for sku, a in erp.articles.items()} == {
        "A-1": Decimal(10),
        "N-1": Decimal(20),
    }


async def test_bad_articles_are_error_records_and_the_rest_goes_on(store: Store) -> None:
    clock, erp, shops = _sides()
    flow = catalog_flow(store, clock, erp, shops, masters=ERP, orders=False)
    for sku in ("NEG-1", "DUP-1", "OK-1", "VAT-1"):
        erp.set(article(sku, clock))
    erp.broken["NEG-1"] = ValueError("price must not be negative, got -5")
    erp.broken["DUP-1"] = PermanentError(
        "two articles have the SKU DUP-1 (ids 12 and 40); give each its own article number"
    )
    erp.broken["VAT-1"] = msgspec.ValidationError("vat_rate must be a percentage from 0 to 100")
    await poll(flow, "products", clock)
    assert sorted(await drain(flow, "products")) == ["done", "failed", "failed", "failed"]
    assert set(shops["se"].articles) == {"OK-1"}
    errors = {
        i.external_id: i.last_error for i in await store.items.query(states=[ItemState.FAILED])
    }
    assert errors["NEG-1"] == (
        "products NEG-1: erp has data brygga cannot take (price must not be negative, got -5); "
        "correct the article in erp; its next change sends it again"
    )
    assert errors["DUP-1"].startswith("two articles have the SKU DUP-1")
    # once corrected at the source, its next change sends it
    del erp.broken["NEG-1"]
    erp.set(article("NEG-1", clock, price=Decimal(5)))
    await poll(flow, "products", clock)
    assert await drain(flow, "products") == ["done"]
    assert shops["se"].articles["NEG-1"].price == Decimal(5)
