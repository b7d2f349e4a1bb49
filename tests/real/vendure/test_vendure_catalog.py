"""Stock and prices written to a real Vendure through ``updateProductVariants`` and read back.

Vendure facts (docs.vendure.io "Stock Control", "Money & Currency"; verified on 3.7.3):
stock is allocated at checkout (stockOnHand unchanged, stockAllocated up) and sellable is
stockOnHand - stockAllocated - outOfStockThreshold; prices are integers in minor units, per
currency, stored gross when the channel's pricesIncludeTax is true.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from vendure_server import VendureServer, admin_gql, admin_login, place_checkout

from brygga.errors import PermanentError

pytestmark = [pytest.mark.real, pytest.mark.anyio]


async def _variant(server: VendureServer, sku: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as admin:
        await admin_login(server, admin)
        data = await admin_gql(
            server,
            admin,
            "query($sku: String!) { productVariants(options: {filter: {sku: {eq: $sku}}}) {"
            " items { stockOnHand stockAllocated price priceWithTax prices { currencyCode price }"
            " } } }",
            {"sku": sku},
        )
    (variant,) = data["productVariants"]["items"]
    return dict(variant)


async def test_stock_is_what_the_shop_may_sell(vendure: VendureServer, adapter: Any) -> None:
    # GADGET-M is only used here; an order allocates 2 of it first
    assert await adapter.put_stock("GADGET-M", Decimal(10)) == "updated"
    await place_checkout(vendure, [("GADGET-M", 2)])
    variant = await _variant(vendure, "GADGET-M")
    assert (variant["stockOnHand"], variant["stockAllocated"]) == (10, 2)
    assert await adapter.sellable("GADGET-M") == Decimal(8)

    assert await adapter.put_stock("GADGET-M", Decimal(5)) == "updated"
    variant = await _variant(vendure, "GADGET-M")
    assert (variant["stockOnHand"], variant["stockAllocated"]) == (7, 2)
    assert await adapter.sellable("GADGET-M") == Decimal(5)
    writes = adapter.writes
    assert await adapter.put_stock("GADGET-M", Decimal(5)) == "unchanged"
    assert adapter.writes == writes
    # nothing to sell: a negative level sells nothing, a fraction is rounded down
    assert await adapter.put_stock("GADGET-M", Decimal(-3)) == "updated"
    assert await adapter.sellable("GADGET-M") == Decimal(0)
    assert await adapter.put_stock("GADGET-M", Decimal("2.7")) == "updated"
    assert await adapter.sellable("GADGET-M") == Decimal(2)


async def test_unknown_sku_is_refused(adapter: Any) -> None:
    with pytest.raises(PermanentError, match="no product variant has SKU 'NOPE-1'"):
        await adapter.put_stock("NOPE-1", Decimal(1))
    with pytest.raises(PermanentError, match="no product variant has SKU 'NOPE-1'"):
        await adapter.put_price("NOPE-1", "SEK", Decimal(10), None)


async def test_price_written_in_minor_units_and_read_back(
    vendure: VendureServer, adapter: Any
) -> None:
    assert await adapter.put_price("GADGET-S", "SEK", Decimal("199.50"), None) == "updated"
    variant = await _variant(vendure, "GADGET-S")
    assert variant["price"] == 19950
    assert variant["priceWithTax"] == 24938  # 199.50 + 25 %, rounded by Vendure
    writes = adapter.writes
    assert await adapter.put_price("GADGET-S", "SEK", Decimal("199.50"), None) == "unchanged"
    assert adapter.writes == writes
    with pytest.raises(PermanentError, match="no currency EUR"):
        await adapter.put_price("GADGET-S", "EUR", Decimal("20"), None)


async def test_prices_include_tax_channel_gets_gross_prices() -> None:
    """On a channel whose pricesIncludeTax is true the stored price is gross: 100.00 excl.
    VAT at 25 % is written as 12500 and Vendure reports 100.00 as the net price (the seed's
    125.00 for WIDGET-1 is read as gross there: it already sells for 100.00 excl. VAT)."""
    from vendure_server import VendureUnavailable, vendure_server
    from vendure_support import vendure_config

    from brygga.adapters import AdapterContext
    from brygga_vendure.adapter import VendureAdapter

    try:
        async with vendure_server(prices_include_tax=True) as server:
            shop = VendureAdapter(
                vendure_config(server), AdapterContext(connection="t", instance="v")
            )
            try:
                kept = await shop.put_price("WIDGET-1", "SEK", Decimal("100.00"), None)
                assert kept == "unchanged"
                wrote = await shop.put_price("WIDGET-1", "SEK", Decimal("120.00"), None)
                assert wrote == "updated"
                variant = await _variant(server, "WIDGET-1")
                assert variant["priceWithTax"] == 15000 and variant["price"] == 12000
                assert variant["prices"] == [{"currencyCode": "SEK", "price": 15000}]
                again = await shop.put_price("WIDGET-1", "SEK", Decimal("120.00"), None)
                assert again == "unchanged"
            finally:
                await shop.aclose()
    except VendureUnavailable as exc:
        pytest.skip(f"real Vendure unavailable: {exc}")


async def test_article_created_as_a_product_then_updated(
    vendure: VendureServer, adapter: Any
) -> None:
    """ProductSink: a missing SKU becomes a product with one variant (tax category by VAT
    rate, price excl. VAT in minor units); a change of name, price or active updates the
    variant; the same article again is unchanged; switches off are skipped."""
    from datetime import UTC, datetime

    from brygga.catalog import Article

    when = datetime(2026, 12, 1, tzinfo=UTC)
    tea = Article(
        sku="TEA-100",
        name="Green tea",
        currency="SEK",
        price=Decimal("45.00"),
        vat_rate=Decimal(12),
        modified_at=when,
    )
    assert await adapter.put_article(tea, create=False, update=True) == "skipped"
    assert await adapter.put_article(tea, create=True, update=True) == "created"
    async with httpx.AsyncClient() as admin:
        await admin_login(vendure, admin)
        data = await admin_gql(
            vendure,
            admin,
            '{ product(slug: "tea-100") { name enabled variants { sku name price'
            " taxRateApplied { value } enabled } } }",
        )
    product = data["product"]
    assert product["name"] == "Green tea" and product["enabled"] is True
    assert product["variants"] == [
        {
            "sku": "TEA-100",
            "name": "Green tea",
            "price": 4500,
            "taxRateApplied": {"value": 12},
            "enabled": True,
        }
    ]
    assert await adapter.put_article(tea, create=True, update=True) == "unchanged"
    assert await adapter.put_article(tea, create=True, update=False) == "skipped"
    changed = Article(
        sku="TEA-100",
        name="Green tea",
        currency="SEK",
        price=Decimal("49.00"),
        vat_rate=Decimal(12),
        active=False,
        modified_at=when,
    )
    assert await adapter.put_article(changed, create=True, update=True) == "updated"
    variant = await _variant(vendure, "TEA-100")
    assert variant["price"] == 4900
    assert await adapter.put_article(changed, create=True, update=True) == "unchanged"


async def test_article_with_an_unknown_vat_rate_is_refused(adapter: Any) -> None:
    from datetime import UTC, datetime

    from brygga.catalog import Article

    odd = Article(
        sku="ODD-1",
        name="Odd",
        currency="SEK",
        price=Decimal(1),
        vat_rate=Decimal(6),
        modified_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    with pytest.raises(PermanentError, match="no tax rate of 6 %"):
        await adapter.put_article(odd, create=True, update=True)
