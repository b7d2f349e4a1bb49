"""Fortnox as a catalog source: articles with their sales price (products, prices) and stock.

From the spec (reference/erp-apis.md §2.3, §2.6 [spec F1][doc F4]) and [chosen]:

- No variant structure: every article is its own SKU (``ArticleNumber``, at most 50
  characters). ``Description`` is the name, ``SalesPrice`` the price in the article's default
  price list (excl. VAT and in the company's currency, ``currency`` in the config:
  [inferred], the reference marks it so), ``VAT`` the rate, ``EAN``; an article is active
  when ``Active`` and not ``Expired``. Fortnox has no campaign price field. ``Weight`` is not
  read (its unit is not stated in the spec).
- Change feed: ``GET /3/articles?lastmodified=<since>`` (Stockholm time, whole minutes: the
  lower bound is floored to its minute, so nothing in the window is missed). Articles carry no
  change time of their own, so each change is reported at ``since`` (the window's start) and
  the upper bound cannot be applied: an article changed while the list is read is reported
  now and again in the next window (repeats are allowed). Reads outside the feed
  (``fetch_article``, ``all_articles``) date the article by the clock.
- ``all_articles`` reads ``filter=active`` then ``filter=inactive`` (the list items carry no
  ``Active``), page by page; ``article_count`` is ``@TotalResources`` of one small page.
- Stock: ``DisposableQuantity`` (in stock minus reserved) of stock articles
  (``StockGoods``); a service article has no stock: the feed leaves it out and ``stock_of``
  refuses it by name. Whether a stock change moves an article's ``lastmodified`` is
  [unknown] (the warehouse module reports its own topic, §2.7); the simulator assumes it
  does. The changed-stock feed reads each listed article in full to learn ``StockGoods``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from brygga.catalog import Article, ArticleChange, StockLevel
from brygga.clock import Clock
from brygga.errors import PermanentError
from brygga_fortnox import wire
from brygga_fortnox.api import FortnoxApi

__all__ = ["MAX_ARTICLE_NUMBER", "FortnoxCatalog", "lastmodified"]

log = logging.getLogger(__name__)

MAX_ARTICLE_NUMBER = 50
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def lastmodified(moment: datetime) -> str:
    """``moment`` as the ``lastmodified`` parameter: Stockholm time, floored to the minute."""
    return moment.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


class FortnoxCatalog:
    """ProductSource and StockSource over the article register (mixed into the adapter)."""

    api: FortnoxApi
    catalog_clock: Clock
    currency: str
    page_size: int

    async def changed_articles(
        self, since: datetime, until: datetime
    ) -> AsyncIterator[ArticleChange]:
        """Articles ``lastmodified`` names since ``since`` (see the module notes)."""
        async for item in self._listed({"lastmodified": lastmodified(since)}, "changed"):
            yield ArticleChange(sku=item.article_number, modified_at=since)

    async def fetch_article(self, sku: str) -> Article | None:
        found = await self._read(sku)
        return None if found is None else self._article(found, self.catalog_clock.now())

    async def all_articles(self) -> AsyncIterator[Article]:
        now = self.catalog_clock.now()
        for which in ("active", "inactive"):
            async for item in self._listed({"filter": which}, which):
                yield self._article(item, now, active=which == "active")

    async def article_count(self) -> int | None:
        """How many articles :meth:`all_articles` reads (``@TotalResources``)."""
        response = await self.api.request("GET", "articles", params={"limit": 1, "page": 1})
        return self.api.decode(
            response, wire.ArticlePage, "the number of articles"
        ).meta.total_resources

    async def changed_stock(self, since: datetime, until: datetime) -> AsyncIterator[StockLevel]:
        """Stock of the stock articles ``lastmodified`` names since ``since``."""
        async for item in self._listed({"lastmodified": lastmodified(since)}, "changed"):
            article = await self._read(item.article_number)
            if article is None or not article.stock_goods:
                continue
            yield self._level(article, since)

    async def stock_of(self, sku: str) -> StockLevel | None:
        article = await self._read(sku)
        if article is None:
            return None
        if not article.stock_goods:
            raise PermanentError(
                f"Article {sku!r} is no stock article in Fortnox (StockGoods is off), so Fortnox "
                "keeps no stock for it; make it a stock article in Fortnox or leave it out of "
                "the shop's stock sync"
            )
        return self._level(article, self.catalog_clock.now())

    # --- reading -----------------------------------------------------------------------------

    async def _listed(self, params: dict[str, str], what: str) -> AsyncIterator[wire.Article]:
        pages = self.api.pages(
            "articles", wire.ArticlePage, f"the {what} articles", params=params,
            limit=self.page_size,
        )  # fmt: skip
        try:
            async for item in pages:
                if item.article_number.strip():
                    yield item
                else:
                    log.warning("fortnox: an article without an article number was skipped")
        finally:
            await pages.aclose()

    async def _read(self, sku: str) -> wire.Article | None:
        sku = sku.strip()
        if not sku or len(sku) > MAX_ARTICLE_NUMBER:
            return None  # Fortnox cannot hold such an article number
        response = await self.api.request("GET", f"articles/{quote(sku, safe='')}")
        if response.status_code == 404:
            return None
        return self.api.decode(response, wire.ArticleWrap, f"article {sku}").Article

    def _article(self, item: wire.Article, seen: datetime, active: bool | None = None) -> Article:
        is_active = active if active is not None else bool(item.active is not False)
        try:
            return Article(
                sku=item.article_number,
                name=(item.description or "").strip(),
                currency=self.currency,
                price=item.sales_price,
                vat_rate=item.vat,
                ean=(item.ean or "").strip(),
                active=is_active and not item.expired,
                modified_at=seen,
            )
        except ValueError as exc:
            raise PermanentError(
                f"Article {item.article_number!r} in Fortnox cannot be read as an article: {exc}"
            ) from None

    def _level(self, article: wire.Article, seen: datetime) -> StockLevel:
        quantity = article.disposable_quantity
        if quantity is None:
            raise PermanentError(
                f"Fortnox sent stock article {article.article_number!r} without "
                "DisposableQuantity; check the article in Fortnox"
            )
        return StockLevel(sku=article.article_number, quantity=quantity, modified_at=seen)
