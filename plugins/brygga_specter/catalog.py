"""Specter items as brygga articles: the Modified feed, variants, prices, price lists, stock.

Modelled (assumptions 9, 11 and 12 of :mod:`brygga_specter.wire`): items changed in a window
are listed with ``ModifiedFrom``/``ModifiedTo``; a variant names its product in
``ParentItemCode``; stock changes come from the polled ``stockchanges`` log (Specter's
stock-change callback, §3.2 [S2]), and each changed item's balance is then read from the item
(``AvailableStock`` of the configured stock site, else the default one). An item whose data
cannot be mapped (a NaN or negative price, a bad VAT rate or time) is a PermanentError
naming its SKU and the field.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from brygga.catalog import Article, ArticleChange, ListPrice, StockLevel
from brygga.errors import PermanentError
from brygga.timeutil import format_utc, parse_utc
from brygga_specter import wire

if TYPE_CHECKING:
    from brygga_specter.adapter import SpecterConfig
    from brygga_specter.api import SpecterApi

__all__ = ["SpecterCatalog", "format_instant", "parse_instant"]


format_instant = format_utc


def parse_instant(text: str, where: str) -> datetime:
    """Specter's UTC text as an aware time; PermanentError naming ``where`` when it is not."""
    return parse_utc(text, where, "Specter")


def _money(value: Decimal | None, where: str, field: str) -> Decimal | None:
    if value is None:
        return None
    if not value.is_finite() or value < 0:
        raise PermanentError(f"{where}: Specter sent {field} {str(value)[:30]}, not a price")
    return value


class SpecterCatalog:
    """ProductSource, StockSource and PriceListSource over the modelled items API."""

    api: SpecterApi
    config: SpecterConfig

    def _article(self, item: wire.Item) -> Article:
        where = f"Specter article {item.item_code}"
        try:
            return Article(
                sku=item.item_code,
                name=item.description,
                product_sku=item.parent_item_code,
                variant_name=item.variant_name,
                currency=item.currency or self.config.base_currency,
                price=_money(item.sales_price_ex_vat, where, "SalesPriceExVat"),
                campaign_price=_money(item.campaign_price_ex_vat, where, "CampaignPriceExVat"),
                vat_rate=item.vat_percentage,
                ean=item.ean_code,
                weight=item.weight,
                active=item.show_in_webshop,
                modified_at=parse_instant(item.modified, where),
            )
        except (ValueError, TypeError) as exc:
            raise PermanentError(
                f"{where}: {str(exc)[:200]}; correct the article in Specter"
            ) from None

    def _window(self, since: datetime, until: datetime) -> dict[str, str]:
        return {"ModifiedFrom": format_instant(since), "ModifiedTo": format_instant(until)}

    async def _item(self, sku: str) -> wire.Item | None:
        return await self.api.find(wire.item_path(sku), wire.Item, f"article {sku}")

    async def changed_articles(
        self, since: datetime, until: datetime
    ) -> AsyncIterator[ArticleChange]:
        async for item in self.api.pages(
            "items",
            wire.Item,
            "changed articles",
            params=self._window(since, until),
            page_size=self.config.page_size,
        ):
            where = f"Specter article {item.item_code}"
            yield ArticleChange(sku=item.item_code, modified_at=parse_instant(item.modified, where))

    async def fetch_article(self, sku: str) -> Article | None:
        item = await self._item(sku)
        return None if item is None else self._article(item)

    async def all_articles(self) -> AsyncIterator[Article]:
        async for item in self.api.pages(
            "items", wire.Item, "the articles", page_size=self.config.page_size
        ):
            yield self._article(item)

    def _level(self, item: wire.Item) -> StockLevel:
        site = self.config.stock_site_id
        stocks = [
            s for s in item.stocks if (s.stock_site_id == site if site else s.is_default_stock)
        ]
        quantity = stocks[0].available_stock if stocks else Decimal(0)
        where = f"Specter article {item.item_code}"
        if not quantity.is_finite():
            raise PermanentError(f"{where}: Specter sent AvailableStock {quantity}, not a number")
        return StockLevel(
            sku=item.item_code, quantity=quantity, modified_at=parse_instant(item.modified, where)
        )

    async def changed_stock(self, since: datetime, until: datetime) -> AsyncIterator[StockLevel]:
        params = {"ChangedFrom": format_instant(since), "ChangedTo": format_instant(until)}
        seen: set[str] = set()
        async for change in self.api.pages(
            "stockchanges", wire.StockChange, "the stock changes", params=params
        ):
            if change.item_code in seen:
                continue
            seen.add(change.item_code)
            item = await self._item(change.item_code)
            if item is not None:
                yield self._level(item)

    async def stock_of(self, sku: str) -> StockLevel | None:
        item = await self._item(sku)
        return None if item is None else self._level(item)

    async def changed_list_prices(
        self, since: datetime, until: datetime
    ) -> AsyncIterator[ListPrice]:
        async for item in self.api.pages(
            "items",
            wire.Item,
            "changed price lists",
            params=self._window(since, until),
            page_size=self.config.page_size,
        ):
            where = f"Specter article {item.item_code}"
            for entry in item.price_lists:
                price = _money(entry.price, where, f"the price in list {entry.price_list_id}")
                assert price is not None
                try:
                    yield ListPrice(
                        price_list=entry.price_list_id,
                        sku=item.item_code,
                        currency=entry.currency,
                        price=price,
                        min_quantity=entry.from_quantity,
                    )
                except ValueError as exc:
                    raise PermanentError(f"{where}: {str(exc)[:200]}") from None
