"""The Starweb adapter as price, stock and price-list target: idempotent, excl. VAT, clear errors.

Spec: the OpenAPI spec in starweb/shop-api-sdk-php (resources/specification/openapi.json),
summarised in reference/shop-apis.md §2.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

import pytest

from brygga.catalog import ListPrice
from brygga.errors import PermanentError
from brygga.registers import PriceListSink, PriceSink, StockSink
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.simulator import StarwebSimulator
from brygga_starweb.simulator.catalog import IN_STOCK, OUT_OF_STOCK

pytestmark = pytest.mark.anyio

Open = Callable[..., AbstractAsyncContextManager[StarwebAdapter]]


def writes(sim: StarwebSimulator, since: int) -> list[tuple[str, str]]:
    """The writes the shop received since ``since`` (token requests aside)."""
    return [(m, p) for m, p in sim.requests[since:] if m != "GET" and p != "/token"]


def reseller(sku: str, price: str, **fields: object) -> ListPrice:
    values: dict[str, object] = {"price_list": "ÅF", "currency": "SEK", "price": Decimal(price)}
    return ListPrice(sku=sku, **(values | fields))  # type: ignore[arg-type]


async def test_the_adapter_takes_prices_stock_and_price_lists(open_adapter: Open) -> None:
    async with open_adapter() as adapter:
        assert isinstance(adapter, PriceSink)
        assert isinstance(adapter, StockSink)
        assert isinstance(adapter, PriceListSink)


# -- prices -----------------------------------------------------------------------------------


async def test_a_price_is_written_excluding_vat_and_once(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    async with open_adapter() as adapter:
        first = await adapter.put_price("MUGG-VIT", "SEK", Decimal("100.00"), Decimal("80"))
        before = len(sim.requests)
        again = await adapter.put_price("MUGG-VIT", "SEK", Decimal("100"), Decimal("80.00"))
        no_campaign = await adapter.put_price("MUGG-VIT", "SEK", Decimal("100"), None)
    assert (first, again, no_campaign) == ("updated", "unchanged", "updated")
    # Spec, ProductVariantPriceModel: priceExVat / specialPriceExVat exclude VAT; a 25 %
    # article at 100.00 excl. VAT is stored as 100, not 80 or 125.
    assert sim.price("MUGG-VIT") == (Decimal(100), None)
    assert len(writes(sim, before)) == 1


async def test_a_price_on_a_variant_goes_to_that_variant(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    sim.knobs.filter_sku_matches_variants = False
    async with open_adapter() as adapter:
        await adapter.put_price("TROJA-M", "SEK", Decimal(249), None)
    assert [sim.price(s) for s in ("TROJA-S", "TROJA-M", "TROJA-L")] == [
        (Decimal(299), None),
        (Decimal(249), None),
        (Decimal(299), None),
    ]


async def test_a_price_of_an_unknown_sku_names_the_sku(open_adapter: Open) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match=r"^SKU FINNS-EJ: Starweb shop se has no product"):
            await adapter.put_price("FINNS-EJ", "SEK", Decimal(1), None)


async def test_a_negative_price_is_refused_before_any_request(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match=r"^SKU TE-100: price -1 is below zero"):
            await adapter.put_price("TE-100", "SEK", Decimal(-1), None)
    assert sim.requests == []


async def test_a_price_in_a_currency_the_shop_lacks_is_refused(open_adapter: Open) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match="has no active price list in NOK"):
            await adapter.put_price("TE-100", "NOK", Decimal(40), None)


# -- stock ------------------------------------------------------------------------------------


async def test_stock_is_written_once(sim: StarwebSimulator, open_adapter: Open) -> None:
    async with open_adapter() as adapter:
        first = await adapter.put_stock("TROJA-L", Decimal(7))
        before = len(sim.requests)
        again = await adapter.put_stock("TROJA-L", Decimal("7.0"))
    assert (first, again) == ("updated", "unchanged")
    assert writes(sim, before) == []
    assert sim.stock("TROJA-L") == Decimal(7)


async def test_stock_keeps_the_status_or_picks_one_by_quantity(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    sim.add_product("NY-1", "Ny", price=Decimal(10))  # no stock level at any location
    sim.variant("NY-1").stock_status_id = None  # type: ignore[assignment]
    async with open_adapter() as adapter:
        await adapter.put_stock("TE-100", Decimal(0))
        await adapter.put_stock("NY-1", Decimal(0))
    # Spec, ProductVariantStockPutRequestModel: stockStatusId and stockQuantity required
    assert sim.variant("TE-100").stocks[1] == (IN_STOCK, Decimal(0))  # the merchant's status
    assert sim.variant("NY-1").stocks[1] == (OUT_OF_STOCK, Decimal(0))


async def test_stock_of_an_unknown_sku_names_the_sku(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError) as refused:
            await adapter.put_stock("FINNS-EJ", Decimal(3))
    assert str(refused.value).startswith("SKU FINNS-EJ: Starweb shop se has no product")
    assert "so its stock cannot be set" in str(refused.value)
    assert writes(sim, 0) == []


async def test_stock_beyond_starweb_bounds_is_refused(open_adapter: Open) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match=r"^SKU TE-100: stock quantity 1E\+9 is outside"):
            await adapter.put_stock("TE-100", Decimal("1E9"))


# -- price lists ------------------------------------------------------------------------------


async def test_a_list_price_goes_to_the_named_price_list_once(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    sim.set_price("TE-100", Decimal(45), Decimal(40))
    async with open_adapter() as adapter:
        created = await adapter.put_list_price("Återförsäljare", reseller("TE-100", "30"))
        changed = await adapter.put_list_price("2", reseller("TE-100", "28"))
        before = len(sim.requests)
        again = await adapter.put_list_price("2", reseller("TE-100", "28.00"))
    assert (created, changed, again) == ("updated", "updated", "unchanged")
    assert writes(sim, before) == []
    assert sim.price("TE-100", pricelist_id=2) == (Decimal(28), None)
    assert sim.price("TE-100") == (Decimal(45), Decimal(40))  # the master list untouched


async def test_list_prices_the_adapter_cannot_place_are_refused(open_adapter: Open) -> None:
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match="has no price list 'Grossist'"):
            await adapter.put_list_price("Grossist", reseller("TE-100", "30"))
        with pytest.raises(PermanentError, match="is in SEK, the price in EUR"):
            await adapter.put_list_price("2", reseller("TE-100", "3", currency="EUR"))
        with pytest.raises(PermanentError, match="does not write Starweb volume prices"):
            await adapter.put_list_price("2", reseller("TE-100", "25", min_quantity=Decimal(10)))
        with pytest.raises(PermanentError, match=r"^SKU FINNS-EJ: Starweb shop se has no"):
            await adapter.put_list_price("2", reseller("FINNS-EJ", "30"))


async def test_a_list_price_is_created_with_post_and_changed_with_patch(
    sim: StarwebSimulator, open_adapter: Open
) -> None:
    # Spec (reference/shop-apis.md §2): a variant's price in a price list is created with
    # POST …/variants/{vid}/prices and changed at …/prices/{pricelistId} (PUT or PATCH); a
    # list price sets only priceExVat, so the adapter PATCHes it and keeps the special price.
    sim.set_price("TE-100", Decimal(45), Decimal(40))
    product = sim.catalog_product("TE-100").product_id
    variant = sim.variant("TE-100").variant_id
    prices = f"/products/{product}/variants/{variant}/prices"
    async with open_adapter() as adapter:
        before = len(sim.requests)
        await adapter.put_list_price("2", reseller("TE-100", "30"))
        first = writes(sim, before)
        before = len(sim.requests)
        await adapter.put_list_price("2", reseller("TE-100", "28"))
        second = writes(sim, before)
    assert first == [("POST", prices)]
    assert second == [("PATCH", f"{prices}/2")]
