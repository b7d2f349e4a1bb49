"""Specter items as brygga articles: the Modified feed, variants, prices, price lists, stock.

Modelled (assumptions 9, 11, 12 and 16 of :mod:`brygga_specter.wire`): items changed in a window
are listed with ``ModifiedFrom``/``ModifiedTo``; a variant names its product in
``ParentItemCode``, and the product is an item too (the parent), told apart by having variants
(``items?ParentItemCode=<code>`` lists them). A parent is the product, not a sellable article:
it goes out as an article with ``has_variants`` and no price (it names the product for the
shops), and its own stock and price-list prices are not sent (the variants' are). A variant's
name is its ``Description`` made a variant name by :func:`brygga.catalog.variant_title` (Specter
keeps "Tröja S"; a description without the size gets it added). Stock changes come from the
polled ``stockchanges`` log (Specter's stock-change callback, §3.2 [S2]), and each changed
item's balance is then read from the item (``AvailableStock`` of the configured stock site, else
the default one). An item whose data cannot be mapped (a NaN or negative price, a bad VAT rate
or time) is a PermanentError naming its SKU and the field.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from brygga.catalog import Article, ArticleChange, ListPrice, StockLevel, variant_title
from brygga.errors import NothingToDo, PermanentError
from brygga.timeutil import format_utc, parse_utc
from brygga_specter import wire

if TYPE_CHECKING:
    from brygga_specter.adapter import SpecterConfig
    from brygga_specter.api import SpecterApi

__all__ = ["SpecterCatalog", "format_instant", "parse_instant"]


format_instant = format_utc

#: items asked for at once when looking whether an item has variants (one is enough, unless
#: the search also matches other codes: assumption 16)
PARENT_PAGE = 20


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

    def _article(self, item: wire.Item, *, parent: bool = False) -> Article:
        """The item as an article; ``parent``: it has variants (the product's own record,
        carrying no price: its prices are no variant's)."""
        where = f"Specter article {item.item_code}"
        price = _money(item.sales_price_ex_vat, where, "SalesPriceExVat")
        campaign = _money(item.campaign_price_ex_vat, where, "CampaignPriceExVat")
        variant = item.variant_name if item.parent_item_code else ""
        try:
            return Article(
                sku=item.item_code,
                name=variant_title(item.description, variant),
                product_sku=item.parent_item_code,
                variant_name=variant,
                has_variants=parent,
                currency=item.currency or self.config.base_currency,
                price=None if parent else price,
                campaign_price=None if parent else campaign,
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

    async def _is_parent(self, item: wire.Item) -> bool:
        """Whether the item has variants (assumption 16: ``items?ParentItemCode=`` lists
        them; a search may match more, so only an exact ``ParentItemCode`` counts). A variant
        has no variants of its own: no request for it."""
        if item.parent_item_code:
            return False
        code = item.item_code
        async for variant in self.api.pages(
            "items",
            wire.Item,
            f"the variants of article {code}",
            params={"ParentItemCode": code},
            page_size=PARENT_PAGE,
        ):
            if variant.parent_item_code == code and variant.item_code != code:
                return True
        return False

    async def _parents(self) -> set[str]:
        """Every item code that some item names as its parent (one read of the item list)."""
        parents: set[str] = set()
        async for item in self.api.pages(
            "items", wire.Item, "the articles", page_size=self.config.page_size
        ):
            if item.parent_item_code and item.parent_item_code != item.item_code:
                parents.add(item.parent_item_code)
        return parents

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
        if item is None:
            return None
        return self._article(item, parent=await self._is_parent(item))

    async def all_articles(self) -> AsyncIterator[Article]:
        """Every item: a first read of the list learns which items are parents (their codes
        only); the second yields the variants and plain articles as they come and the
        parents last, so a shop that makes a product with its first variant (Starweb) has it
        when the parent's name and VAT rate come. The parents wait in memory (one item
        each, a catalog's products with variants, not its variants)."""
        parents = await self._parents()
        waiting: list[wire.Item] = []
        async for item in self.api.pages(
            "items", wire.Item, "the articles", page_size=self.config.page_size
        ):
            if item.item_code in parents:
                waiting.append(item)
                continue
            yield self._article(item)
        for item in waiting:
            yield self._article(item, parent=True)

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
            if item is not None and not await self._is_parent(item):
                yield self._level(item)  # a parent's own stock is no variant's: not sent

    async def stock_of(self, sku: str) -> StockLevel | None:
        item = await self._item(sku)
        if item is None:
            return None
        if await self._is_parent(item):
            raise NothingToDo(
                f"stock {sku}: in Specter {sku} is a product with variants, not an article a "
                "shop sells; each variant's stock goes on its own"
            )
        return self._level(item)

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
            if item.price_lists and await self._is_parent(item):
                continue  # a parent's list prices are no variant's: each variant has its own
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
