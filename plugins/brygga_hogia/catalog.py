"""Hogia Smart articles and stock as brygga's: the lagging API-database feed, direct reads.

Modelled (wire assumptions 6 and 7): the change feed is the "API database" Hogia Smart writes
its changes into (reference/erp-apis.md §4.1 [H1]); entries appear there only after a lag, and
POS sales arrive as ``stock`` entries. The feed is read by the time an entry *landed*
(``loggedDate``), so an entry that lands late is still in a later window; the article (or its
stock balance) is then read directly. Articles have an ordinary and a campaign price (no price
lists) and no variant structure; ``sendToWebshop`` (Skicka till Webshop, [H1]) is ``active``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from brygga.catalog import Article, ArticleChange, StockLevel
from brygga.errors import PermanentError
from brygga.timeutil import format_utc, parse_utc
from brygga_hogia import wire

if TYPE_CHECKING:
    from brygga_hogia.adapter import HogiaConfig
    from brygga_hogia.api import HogiaApi

__all__ = ["HogiaCatalog", "format_instant", "parse_instant"]


format_instant = format_utc


def parse_instant(text: str, where: str) -> datetime:
    """Hogia's UTC text as an aware time; PermanentError naming ``where`` when it is not."""
    return parse_utc(text, where, "Hogia")


def _amount(value: Decimal | None, where: str, field: str) -> Decimal | None:
    if value is not None and (not value.is_finite() or value < 0):
        raise PermanentError(f"{where}: Hogia sent {field} {str(value)[:30]}, not an amount")
    return value


class HogiaCatalog:
    """ProductSource and StockSource over the modelled articles API and API database."""

    api: HogiaApi
    config: HogiaConfig

    def _article(self, item: wire.Article) -> Article:
        where = f"Hogia article {item.article_number}"
        try:
            return Article(
                sku=item.article_number,
                name=item.name,
                currency=self.config.base_currency,
                price=_amount(item.price, where, "price"),
                campaign_price=_amount(item.campaign_price, where, "campaignPrice"),
                vat_rate=item.vat_percent,
                active=item.send_to_webshop,
                modified_at=parse_instant(item.updated_date, where),
            )
        except (ValueError, TypeError) as exc:
            raise PermanentError(f"{where}: {str(exc)[:200]}; correct it in Hogia Smart") from None

    async def _read(self, sku: str) -> wire.Article | None:
        return await self.api.find(wire.article_path(sku), wire.Article, f"article {sku}")

    async def _changes(
        self, entity: str, since: datetime, until: datetime
    ) -> AsyncIterator[wire.Change]:
        params = {"loggedFrom": format_instant(since), "loggedTo": format_instant(until)}
        async for change in self.api.pages(
            "changes",
            wire.Change,
            "the API database's changes",
            params=params,
            page_size=self.config.page_size,
        ):
            if change.entity == entity:
                yield change

    async def changed_articles(
        self, since: datetime, until: datetime
    ) -> AsyncIterator[ArticleChange]:
        async for change in self._changes("article", since, until):
            where = f"Hogia change {change.sequence_id}"
            yield ArticleChange(
                sku=change.key, modified_at=parse_instant(change.changed_date, where)
            )

    async def fetch_article(self, sku: str) -> Article | None:
        item = await self._read(sku)
        return None if item is None else self._article(item)

    async def all_articles(self) -> AsyncIterator[Article]:
        async for item in self.api.pages(
            "articles", wire.Article, "the articles", page_size=self.config.page_size
        ):
            yield self._article(item)

    def _level(self, item: wire.Article) -> StockLevel:
        where = f"Hogia article {item.article_number}"
        quantity = item.stock_balance if item.stock_balance is not None else Decimal(0)
        if not quantity.is_finite():
            raise PermanentError(f"{where}: Hogia sent stockBalance {quantity}, not a number")
        return StockLevel(
            sku=item.article_number,
            quantity=quantity,
            modified_at=parse_instant(item.updated_date, where),
        )

    async def changed_stock(self, since: datetime, until: datetime) -> AsyncIterator[StockLevel]:
        seen: set[str] = set()
        async for change in self._changes("stock", since, until):
            if change.key in seen:
                continue
            seen.add(change.key)
            item = await self._read(change.key)
            if item is not None:
                yield self._level(item)

    async def stock_of(self, sku: str) -> StockLevel | None:
        item = await self._read(sku)
        return None if item is None else self._level(item)
