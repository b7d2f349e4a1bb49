"""Fortnox price lists as a source (PriceListSource): every price of the chosen lists, per poll.

From the spec (reference/erp-apis.md §2.6 [spec F1]): price lists at ``/3/pricelists``
(``Code``), prices of one article in one list from each quantity at
``/3/prices/sublist/{PriceList}/{ArticleNumber}`` (slim items: ``ArticleNumber``,
``PriceList``, ``FromQuantity``, ``Price``). Whether the prices include VAT is [unknown]; they
are taken as excluding VAT, in the company's currency ([inferred], as ``SalesPrice``).

Fortnox documents no change time and no ``lastmodified`` filter for prices, so each poll
([chosen]) reads every article's prices in each list of ``price_lists`` (every list when
unset): one request per article and list, 5 a second at the documented limit (1,000
articles take about 200 s per list), which is why the price-lists register polls hourly by
default. The handler writes only prices that differ from what it wrote before. A
``FromQuantity`` of 0 or 1 is an ordinary list price (``min_quantity`` 1).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote

import msgspec

from brygga.catalog import ListPrice
from brygga.errors import PermanentError
from brygga_fortnox import wire
from brygga_fortnox.api import FortnoxApi

__all__ = ["FortnoxPriceLists"]

log = logging.getLogger(__name__)


class _PriceList(msgspec.Struct, frozen=True, rename="pascal"):
    code: str


class _PriceLists(msgspec.Struct, frozen=True):
    PriceLists: list[_PriceList]


class _Price(msgspec.Struct, frozen=True, rename="pascal"):
    article_number: str
    price_list: str
    price: Decimal
    from_quantity: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        for field, value in (("Price", self.price), ("FromQuantity", self.from_quantity)):
            if not value.is_finite():
                raise ValueError(f"{field} must be a finite number")


class _Prices(msgspec.Struct, frozen=True):
    Prices: list[_Price]


class FortnoxPriceLists:
    """PriceListSource over ``/3/prices`` (mixed into the adapter)."""

    api: FortnoxApi
    currency: str
    page_size: int
    price_list_codes: list[str] | None

    async def changed_list_prices(
        self, since: datetime, until: datetime
    ) -> AsyncIterator[ListPrice]:
        """Every price of the chosen lists (Fortnox keeps no change time for prices)."""
        codes = self.price_list_codes
        if codes is None:
            response = await self.api.request("GET", "pricelists")
            codes = [
                p.code for p in self.api.decode(response, _PriceLists, "the price lists").PriceLists
            ]
        articles = self.api.pages(
            "articles", wire.ArticlePage, "the articles of the price lists", limit=self.page_size
        )
        try:
            async for article in articles:
                number = article.article_number.strip()
                if not number:
                    continue
                for code in codes:
                    for price in await self._prices(code, number):
                        yield price
        finally:
            await articles.aclose()

    async def _prices(self, code: str, number: str) -> list[ListPrice]:
        path = f"prices/sublist/{quote(code, safe='')}/{quote(number, safe='')}"
        response = await self.api.request("GET", path)
        if response.status_code == 404:
            return []
        rows = self.api.decode(response, _Prices, f"the prices of {number} in list {code}")
        found: list[ListPrice] = []
        for row in rows.Prices:
            if row.article_number != number or row.price_list != code:
                log.warning("fortnox: price list %s of %s held a row of another", code, number)
                continue
            try:
                found.append(
                    ListPrice(
                        price_list=code,
                        sku=number,
                        currency=self.currency,
                        price=row.price,
                        min_quantity=max(Decimal(1), row.from_quantity),
                    )
                )
            except ValueError as exc:
                raise PermanentError(
                    f"Price list {code} in Fortnox has a price of {number} that cannot be used "
                    f"({exc}); correct it in Fortnox"
                ) from None
        return found
