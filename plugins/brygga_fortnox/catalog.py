"""Fortnox as a catalog source: articles with their sales price (products, prices) and stock.

From the spec (reference/erp-apis.md §2.3, §2.6 [spec F1][doc F4]) and [chosen]:

- No variant structure: every article is its own SKU (``ArticleNumber``, at most 50
  characters). ``Description`` is the name, ``SalesPrice`` the price in the article's default
  price list (excl. VAT and in the company's currency, ``currency`` in the config:
  [inferred], the reference marks it so), ``VAT`` the rate, ``EAN``; an article is active
  when ``Active`` and not ``Expired``. Fortnox has no campaign price field. ``Weight`` is not
  read (its unit is not stated in the spec).
- Change feed: ``GET /3/articles?lastmodified=<since>`` (whole minutes, floored, and 2 hours
  early in Stockholm time so that neither a Stockholm nor a UTC reading of the undocumented
  time zone misses a change: :mod:`brygga_fortnox.modified`). Articles carry no
  change time of their own, so a change is reported at ``since`` (the window's start) and
  the upper bound cannot be applied. Each poll re-reads the overlap of the previous window,
  so an article changed once is listed by every poll until the window start passes its
  change: a version listed again is no new change (:class:`ListedVersions`). The feed keeps
  what it last listed of each article (a fingerprint of the list item; for stock, of the level
  read) and reports a re-listed, unchanged version at the time it first reported it, so the
  flow does not reopen its record (a failed one is tried again when the article really
  changes, or ``brygga errors retry``); a listing whose window starts after the version's
  last listing is a new change whatever its content. PARTIAL: list items carry no ``Active``
  or ``Expired``, so a second change of only those within the overlap of a first one is seen
  with the article's next change; after a restart each re-listed article is offered once.
  Reads outside the feed (``fetch_article``, ``all_articles``) date the article by the clock.
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

import msgspec

from brygga.catalog import Article, ArticleChange, StockLevel
from brygga.clock import Clock
from brygga.errors import PermanentError
from brygga_fortnox import wire
from brygga_fortnox.api import FortnoxApi
from brygga_fortnox.modified import lastmodified, listed_from

__all__ = ["MAX_ARTICLE_NUMBER", "FortnoxCatalog", "ListedVersions", "lastmodified"]

log = logging.getLogger(__name__)

MAX_ARTICLE_NUMBER = 50


def _minute(moment: datetime) -> datetime:
    """The start of the minute ``lastmodified`` reads from (Stockholm is whole hours off UTC,
    so the minute is the same in UTC)."""
    return moment.replace(second=0, microsecond=0)


@dataclass
class _Version:
    #: the list item's (or level's) fingerprint
    fingerprint: bytes
    #: the change time reported for this version
    reported: datetime
    #: the end of the last window that listed it (it changed before then)
    listed: datetime


class ListedVersions:
    """What one change feed last listed of each article, so the overlap's re-listing of an
    unchanged article is no new change.

    ``lastmodified`` has minute resolution and the feed re-reads the overlap of the previous
    window (reference/erp-apis.md §2.2, §2.7: "minute resolution → overlap windows and
    de-duplicate"), and an article has no change time of its own: so one change is listed by
    every poll until the window's start passes it. A listing with the fingerprint last seen,
    in a window that starts no later than that version's last listing, is the same version:
    it is reported at the time it was first reported (the store's record sees nothing newer).
    A different fingerprint, or a window that starts after the last listing (the article's
    ``lastmodified`` moved past it), is a new change, reported at the window's start (after the
    last report). Versions whose last listing is before the window start are forgotten."""

    def __init__(self) -> None:
        self._seen: dict[str, _Version] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def window(self, since: datetime) -> None:
        """A new window from ``since``: forget versions no listing from there can repeat."""
        start = _minute(since)
        for sku in [s for s, v in self._seen.items() if v.listed < start]:
            del self._seen[sku]

    def report(
        self,
        sku: str,
        fingerprint: bytes,
        since: datetime,
        until: datetime,
        start: datetime | None = None,
    ) -> datetime:
        """The change time to report for ``sku`` listed with ``fingerprint`` in the window
        ``[since, until)`` whose listing began at ``start`` (``since`` unless the list was read
        from earlier, :func:`listed_from`)."""
        seen = self._seen.get(sku)
        begun = _minute(since if start is None else start)
        if seen is not None and seen.fingerprint == fingerprint and begun <= seen.listed:
            seen.listed = max(seen.listed, until)
            return seen.reported
        reported = since
        if seen is not None and reported <= seen.reported:
            reported = seen.reported + timedelta(microseconds=1)
        self._seen[sku] = _Version(fingerprint, reported, until)
        return reported


class FortnoxCatalog:
    """ProductSource and StockSource over the article register (mixed into the adapter)."""

    api: FortnoxApi
    catalog_clock: Clock
    currency: str
    page_size: int

    async def changed_articles(
        self, since: datetime, until: datetime
    ) -> AsyncIterator[ArticleChange]:
        """Articles ``lastmodified`` names since ``since``; one listed again unchanged is
        reported at its first report (see the module notes, :class:`ListedVersions`)."""
        versions = self._versions("articles")
        start = listed_from(since)
        versions.window(start)
        async for item in self._listed({"lastmodified": lastmodified(since)}, "changed"):
            fingerprint = _fingerprint(item)
            seen = versions.report(item.article_number, fingerprint, since, until, start)
            yield ArticleChange(sku=item.article_number, modified_at=seen)

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
        """Stock of the stock articles ``lastmodified`` names since ``since``; a level listed
        again unchanged is reported at its first report (:class:`ListedVersions`)."""
        versions = self._versions("stock")
        start = listed_from(since)
        versions.window(start)
        async for item in self._listed({"lastmodified": lastmodified(since)}, "changed"):
            article = await self._read(item.article_number)
            if article is None or not article.stock_goods:
                continue
            level = self._level(article, since)
            fingerprint = str(level.quantity.normalize()).encode()
            seen = versions.report(level.sku, fingerprint, since, until, start)
            yield StockLevel(sku=level.sku, quantity=level.quantity, modified_at=seen)

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

    def _versions(self, feed: str) -> ListedVersions:
        """The feed's :class:`ListedVersions` (one per adapter and feed, kept in memory)."""
        feeds: dict[str, ListedVersions] = self.__dict__.setdefault("_fortnox_listed", {})
        return feeds.setdefault(feed, ListedVersions())

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


def _fingerprint(item: wire.Article) -> bytes:
    """What the list says of an article (every field it carries that brygga reads)."""
    return msgspec.json.encode(item)
