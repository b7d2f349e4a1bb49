"""A shop's catalog currency ([connection.catalog.shops.<shop>] currency): each shop of one
connection gets the ERP's own price in its currency, a missing one is an error record naming
the SKU, the currency and the fix (never a converted guess), and the other shops go on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from catalog_fakes import FakeErp, FakeShop, article, catalog_flow, drain, poll
from test_catalog_flows import _conn, _rows

from brygga.clock import FakeClock
from brygga.config import CatalogConfig, ShopCatalogConfig
from brygga.errors import ConfigError
from brygga.models import Register
from brygga.registers import CurrencyPrices
from brygga.store import ItemState, Store

pytestmark = pytest.mark.anyio
START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
ERP = {Register.PRODUCTS: "erp", Register.PRICES: "erp"}
COMBO = {Register.PRODUCTS: "shop", Register.PRICES: "erp"}
NOK_SHOP = CatalogConfig(shops={"no": ShopCatalogConfig(currency="NOK")})


class PricedErp(FakeErp):
    """An ERP whose articles are in SEK and that keeps prices in other currencies besides
    (as e-conomic keeps currency-specific sales prices)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.prices: dict[tuple[str, str], Decimal] = {}
        self.asked: list[tuple[str, str]] = []

    async def price_in(self, sku: str, currency: str) -> Decimal | None:
        self.asked.append((sku, currency))
        return self.prices.get((sku, currency))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "state.db") as opened:
        yield opened


def _sides() -> tuple[FakeClock, PricedErp, dict[str, FakeShop]]:
    clock = FakeClock(START)
    return clock, PricedErp(clock), {"se": FakeShop(clock), "no": FakeShop(clock)}


async def _errors(store: Store) -> dict[tuple[str, str], str]:
    failed = await store.items.query(states=[ItemState.FAILED])
    return {(i.instance, i.external_id): i.last_error for i in failed}


def test_the_fake_erp_keeps_prices_per_currency() -> None:
    assert isinstance(PricedErp(FakeClock(START)), CurrencyPrices)
    assert not isinstance(FakeErp(FakeClock(START)), CurrencyPrices)


async def test_a_nok_and_a_sek_shop_get_their_own_prices_with_the_products(store: Store) -> None:
    clock, erp, shops = _sides()
    flow = catalog_flow(store, clock, erp, shops, masters=ERP, settings=NOK_SHOP, orders=False)
    erp.set(article("A-1", clock, price=Decimal("100.00")))
    erp.prices[("A-1", "NOK")] = Decimal("139.00")
    await poll(flow, "products", clock)
    assert await drain(flow, "products") == ["done", "done"]
    se, no = shops["se"].articles["A-1"], shops["no"].articles["A-1"]
    assert (se.currency, se.price) == ("SEK", Decimal(100))
    assert (no.currency, no.price) == ("NOK", Decimal(139))
    assert erp.asked == [("A-1", "NOK")]  # the SEK shop takes the article's own price
    # a new NOK price alone is written to the NOK shop only (changed-only per target)
    erp.prices[("A-1", "NOK")] = Decimal("145.00")
    erp.touch("A-1")
    await poll(flow, "products", clock)
    await drain(flow, "products")
    assert shops["no"].articles["A-1"].price == Decimal(145)
    assert [len(shop.writes) for shop in (shops["se"], shops["no"])] == [1, 2]


async def test_an_article_without_a_nok_price_is_an_error_record_and_sek_goes_on(
    store: Store,
) -> None:
    clock, erp, shops = _sides()
    flow = catalog_flow(store, clock, erp, shops, masters=ERP, settings=NOK_SHOP, orders=False)
    erp.set(article("B-2", clock, price=Decimal("80.00"), campaign_price=Decimal(60)))
    await poll(flow, "products", clock)
    assert sorted(await drain(flow, "products")) == ["done", "failed"]
    assert shops["se"].articles["B-2"].price == Decimal(80)
    assert "B-2" not in shops["no"].articles  # no converted guess
    assert await _errors(store) == {
        ("no", "B-2"): (
            "products B-2: erp has no NOK price for article B-2, and no takes NOK prices "
            "([connection.catalog.shops.no] currency); brygga does not convert prices. Set a "
            "NOK sales price on product B-2 in erp (in e-conomic: a currency-specific sales "
            "price), then retry this record"
        )
    }
    # once the ERP has the price, the next change of the article sends it
    erp.prices[("B-2", "NOK")] = Decimal("112.50")
    erp.touch("B-2")
    await poll(flow, "products", clock)
    await drain(flow, "products")
    no = shops["no"].articles["B-2"]
    # the campaign price is in SEK: it is not carried into NOK
    assert (no.currency, no.price, no.campaign_price) == ("NOK", Decimal("112.50"), None)


async def test_prices_on_their_own_are_set_in_the_shops_currency(store: Store) -> None:
    clock, erp, shops = _sides()
    flow = catalog_flow(store, clock, erp, shops, masters=COMBO, settings=NOK_SHOP, orders=False)
    for shop in shops.values():
        shop.set(article("C-3", clock, price=Decimal(1)))
    erp.set(article("C-3", clock, price=Decimal("50.00")))
    erp.set(article("D-4", clock, price=Decimal("70.00")))
    for shop in shops.values():
        shop.set(article("D-4", clock, price=Decimal(1)))
    erp.prices[("C-3", "NOK")] = Decimal("66.00")
    await poll(flow, "prices", clock)
    assert sorted(await drain(flow, "prices")) == ["done", "done", "done", "failed"]
    assert shops["se"].articles["C-3"].price == Decimal(50)
    assert shops["no"].articles["C-3"].price == Decimal(66)
    assert shops["se"].articles["D-4"].price == Decimal(70)
    assert shops["no"].articles["D-4"].price == Decimal(1)  # untouched, not converted
    errors = await _errors(store)
    assert list(errors) == [("no", "D-4")]
    assert errors[("no", "D-4")].startswith("prices D-4: erp has no NOK price for article D-4")


async def test_an_erp_without_prices_per_currency_cannot_price_a_nok_shop(store: Store) -> None:
    clock = FakeClock(START)
    erp, shops = FakeErp(clock), {"se": FakeShop(clock), "no": FakeShop(clock)}
    flow = catalog_flow(store, clock, erp, shops, masters=ERP, settings=NOK_SHOP, orders=False)
    erp.set(article("A-1", clock))
    await poll(flow, "products", clock)
    assert sorted(await drain(flow, "products")) == ["done", "failed"]
    assert "A-1" not in shops["no"].articles
    assert await _errors(store) == {
        ("no", "A-1"): (
            "products A-1: no takes NOK prices ([connection.catalog.shops.no] currency) but erp "
            "gives prices in SEK only, and brygga does not convert prices; set the shop's "
            "currency to SEK, or remove the key"
        )
    }


async def test_a_shop_currency_like_the_erps_costs_no_price_lookup(store: Store) -> None:
    clock, erp, shops = _sides()
    settings = CatalogConfig(shops={"se": ShopCatalogConfig(currency="SEK")})
    flow = catalog_flow(store, clock, erp, shops, masters=ERP, settings=settings, orders=False)
    erp.set(article("A-1", clock))
    await poll(flow, "products", clock)
    assert await drain(flow, "products") == ["done", "done"]
    assert erp.asked == []


def test_check_names_the_shops_price_currency(tmp_path: Path) -> None:
    conn = _conn(
        tmp_path, shops=("fakeshop", "fakeshop"), catalog={"shops": {"s1": {"currency": "NOK"}}}
    )
    rows = _rows(conn)
    expected = (
        "price currency s1 NOK: adapter 'fakeerp' keeps no prices per currency, so a price in "
        "another currency than its own is an error record (never converted)"
    )
    assert rows[Register.PRODUCTS].note.endswith(expected)
    assert rows[Register.PRICES].note.endswith(expected)
    plain = _rows(_conn(tmp_path, shops=("fakeshop", "fakeshop")))
    assert "price currency" not in plain[Register.PRODUCTS].note


@pytest.mark.parametrize("code", ["nok", "NORSK", "", "N0K"])
def test_a_shop_currency_that_is_no_iso_code_is_a_config_error(tmp_path: Path, code: str) -> None:
    with pytest.raises(ConfigError) as info:
        _conn(tmp_path, catalog={"shops": {"s0": {"currency": code}}})
    assert f"connection[0].catalog.shops.s0.currency: {code!r} is no ISO 4217" in str(info.value)
