"""e-conomic's currency-specific sales prices: read for a shop whose catalog currency is not
the agreement's base currency, and served by the simulator as documented.

Documented rules followed (e-conomic/slate ``source/includes/_products.md``; reference/
erp-apis.md §1.6 "Currency prices"): ``GET /products/:productNumber/pricing/currency-specific-
sales-prices/:currencyCode`` fetches "a single currency specific product price belonging to a
specific product"; the collection "does not include base currency price. Base currency price is
available as sales price on the product"; POST takes ``price`` and ``currency.code``; PUT and
DELETE address one currency (DELETE answers 204).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from brygga.registers import CurrencyPrices
from brygga_economic.adapter import EconomicAdapter
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio
PRICES = "/products/TE-100/pricing/currency-specific-sales-prices"
Api = Callable[..., httpx.AsyncClient]


def test_the_adapter_keeps_prices_per_currency() -> None:
    assert issubclass(EconomicAdapter, CurrencyPrices)


async def test_a_currency_price_is_read_from_the_documented_endpoint(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    sim.set_currency_price("TE-100", "NOK", Decimal("62.50"))
    async with open_adapter() as adapter:
        assert await adapter.price_in("TE-100", "NOK") == Decimal("62.50")
        assert await adapter.price_in("TE-100", "EUR") is None  # none in EUR: no guess
        assert await adapter.price_in("NO-SUCH", "NOK") is None
    assert ("GET", f"{PRICES}/NOK") in sim.requests
    assert ("GET", f"{PRICES}/EUR") in sim.requests


async def test_the_base_currency_price_is_the_sales_price(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    async with open_adapter(base_currency="SEK") as adapter:
        assert await adapter.price_in("TE-100", "SEK") == Decimal("45.00")
    assert not [path for _, path in sim.requests if "/pricing/" in path]


async def test_the_simulator_serves_currency_prices_as_documented(
    sim: EconomicSimulator, api: Api
) -> None:
    async with api() as client:
        empty = await client.get(PRICES)
        assert empty.status_code == 200 and empty.json()["collection"] == []
        body = {"price": 88, "currency": {"code": "NOK"}, "product": {"productNumber": "TE-100"}}
        created = await client.post(PRICES, json=body)
        assert created.status_code == 201
        assert created.json()["price"] == 88
        assert created.json()["currency"]["code"] == "NOK"
        again = await client.post(PRICES, json=body)
        assert again.status_code == 400  # one price per currency
        assert (await client.get(PRICES)).json()["collection"][0]["price"] == 88
        changed = await client.put(f"{PRICES}/NOK", json={"price": 90.5})
        assert changed.status_code == 200
        assert (await client.get(f"{PRICES}/NOK")).json()["price"] == 90.5
        scale = await client.put(f"{PRICES}/NOK", json={"price": 1.005})
        assert scale.status_code == 400
        assert (await client.delete(f"{PRICES}/NOK")).status_code == 204
        assert (await client.get(f"{PRICES}/NOK")).status_code == 404
        unknown = await client.get("/products/NO-SUCH/pricing/currency-specific-sales-prices")
        assert unknown.status_code == 404
    # the base currency's price stays the product's salesPrice
    product = sim.product("TE-100")
    assert product is not None and product["salesPrice"] == Decimal("45.00")
