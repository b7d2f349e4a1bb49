"""e-conomic's catalog registers: products and prices read and written, stock read.

What the adapter does, and which documented rule it follows (e-conomic/slate
``source/includes/_introduction.md`` and ``_products.md``; reference/erp-apis.md §1.3, §1.6):

- No variant structure: every SKU is its own product (``productNumber``, a string of 1-25
  characters). A longer SKU is a PermanentError naming the SKU and the fix.
- Change feed: ``GET /products?filter=lastUpdated$gte:<since>&sort=productNumber`` paged with
  ``skippages``/``pagesize``. ``lastUpdated`` moves on direct edits *and* inventory changes,
  so one feed serves products, prices and stock. Only the lower bound goes to e-conomic: a
  product changed while the pages are read stays in the filtered set and keeps its place in
  ``productNumber`` order, so an update or a new product can only cause a repeat, never a
  gap. The upper bound is applied here. When ``pagination.results`` shrinks between two pages
  (a product deleted), the pages already read moved back, so reading backs up by as many pages
  as were lost. (A deletion and a creation between the same two pages cancel out in
  ``results``; that rare case can miss one product until its next change.) The lower bound is
  cut to whole seconds, the resolution ``lastUpdated`` is written in, and compared the same
  way here, so a change in the same second as a previous window's end is read again, not lost.
- Writes: POST ``/products`` creates (required ``productNumber``, ``name``, ``productGroup``);
  PUT ``/products/{number}`` overwrites "the full object and must include the full entity", so
  an update echoes the product as read with only the changed fields replaced, and nothing is
  written when every compared field already matches. A false boolean is left out (``barred``).
  Whether a product exists, and its compared fields, come from the product list read 1,000 a
  page (:mod:`brygga_economic.product_index`: built when it pays, trusted 60 s), not from a
  ``GET /products/{number}`` per article; an update still reads the product whole before its
  PUT. A create e-conomic refuses while the product exists (made after the list was read) is
  read and compared instead, and an in-doubt create is looked up before it is repeated.
- Prices: ``salesPrice`` is the net (excl. VAT) price in the agreement's base currency, at most
  two decimals (``maxDecimal: 2``): prices are rounded half-up to two decimals before writing
  and comparing. e-conomic has no campaign price on products, so none is read or written (the
  capabilities say so; ``brygga check`` tells). Currency-specific prices are read for a shop
  whose catalog currency is another (``CurrencyPrices.price_in``): ``GET
  /products/{n}/pricing/currency-specific-sales-prices/{currencyCode}``, documented as
  "excluding base currency price" (the base currency's price is ``salesPrice``); a 404 means
  the product has no price in that currency (None, which the handler makes an error record).
  They are not written by this version: a price in another currency than ``base_currency``
  going into e-conomic is refused (partial).
- VAT is not on the product: it comes from the product group's sales account (the same
  :class:`~brygga_economic.articles.VatChain` the orders flow uses). New products go to the
  configured ``product_groups`` entry for their VAT rate, else ``product_group``; a missing
  group is a ConfigError naming the key to set (a rate ``product_groups`` does not list: the
  rate and ``add "14" = <group number>``), and a group whose VAT rate differs from the
  article's is refused. A connection whose products flow into e-conomic with neither key set
  is refused before it runs (``EconomicConfig.write_problems``, ``brygga.adapters.ConfigNeeds``).
- Dry run (``brygga sync products --dry-run``): :meth:`EconomicCatalog.preview_article` reads
  what ``put_article`` reads (the product list, the product group's VAT chain) and runs its
  checks, and writes nothing; an update is judged on the list's fields.
- Weight is not written: e-conomic keeps it under ``inventory`` (read-only, inventory module).
- Stock (read only): ``inventory.available`` (in stock minus ordered by customers), present
  only with the inventory module. Whether the agreement has it is read from the product groups'
  ``inventoryEnabled``; without it every stock read is a PermanentError saying so (never a 0).
  Products in groups that are not inventory-enabled (services, fees) have no stock: the feed
  leaves them out and ``stock_of`` refuses them by name.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from brygga.catalog import Article, ArticleChange, StockLevel
from brygga.errors import ConfigError, PermanentError, TransientError
from brygga.registers import Written
from brygga_economic import wire
from brygga_economic.api import EconomicApi
from brygga_economic.articles import ArticleCatalog, rate_text
from brygga_economic.catalog_wire import (
    MAX_NAME,
    MAX_PRODUCT_NUMBER,
    CatalogGroup,
    CatalogProduct,
    CurrencyPrice,
    parse_last_updated,
)
from brygga_economic.product_index import ProductIndex

if TYPE_CHECKING:
    from brygga.http.accountcache import AccountCache
    from brygga_economic.adapter import EconomicConfig

__all__ = ["EconomicCatalog", "group_key_problem", "product_number"]

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
#: no legitimate product read needs more pages than this (10 million products at 1000)
_MAX_PAGES = 10_000


def product_number(sku: str) -> str:
    """``sku`` as an e-conomic product number, or a PermanentError naming the SKU and the fix."""
    number = sku.strip()
    if not number:
        raise PermanentError("An article without SKU cannot be an e-conomic product; give it one.")
    if len(number) > MAX_PRODUCT_NUMBER:
        raise PermanentError(
            f"Article {sku!r}: the SKU has {len(number)} characters but e-conomic product "
            f"numbers hold at most {MAX_PRODUCT_NUMBER}; shorten the SKU in the source system "
            "(e.g. the shop), or map it with a shorter article number."
        )
    return number


def group_key_problem(key: str) -> str:
    """Why ``key`` of ``product_groups`` is not a VAT rate in percent ("" when it is)."""
    try:
        rate = Decimal(key)
    except InvalidOperation:
        rate = None
    if rate is not None and rate.is_finite() and 0 <= rate < 100:
        return ""
    return (
        f"[connection.erp] product_groups: {key!r} is not a VAT rate; write the rate in "
        'percent, e.g. product_groups = { "25" = 1, "12" = 2 }'
    )


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _stamp(moment: datetime) -> datetime:
    """``moment`` cut to whole seconds (the resolution ``lastUpdated`` is written in)."""
    return moment.replace(microsecond=0)


class EconomicCatalog:
    """The catalog half of :class:`~brygga_economic.adapter.EconomicAdapter` (a mixin: it
    uses the adapter's ``api``, ``config`` and ``articles``)."""

    api: EconomicApi
    config: EconomicConfig
    articles: ArticleCatalog
    reference: AccountCache
    #: product group -> inventoryEnabled, read once (again when an answer would be an error)
    _inventory_groups: dict[int, bool] | None = None
    #: which products exist, from the product list (:mod:`brygga_economic.product_index`)
    _product_index: ProductIndex | None = None

    # --- paging ----------------------------------------------------------------------------

    async def _product_pages(
        self, what: str, *, filter: str | None = None
    ) -> AsyncGenerator[list[CatalogProduct], None]:
        """The products, one page at a time, in ``productNumber`` order (see the module notes
        for why this order and what happens when the collection shrinks while read)."""
        size = self.config.page_size
        skip = 0
        results: int | None = None
        previous = b""
        for _ in range(_MAX_PAGES):
            params: dict[str, Any] = {"skippages": skip, "pagesize": size, "sort": "productNumber"}
            if filter is not None:
                params["filter"] = filter
            response = await self.api.request("GET", "products", params=params)
            page = self.api.decode(response, wire.Page[CatalogProduct], what)
            now = page.pagination.results or 0
            if results is not None and now < results and skip > 0:
                back = math.ceil((results - now) / size)
                log.info(
                    "economic: %d products left %s while it was read; backing up %d page(s)",
                    results - now,
                    what,
                    back,
                )
                skip, results, previous = max(0, skip - back), now, b""
                continue
            if response.content == previous:
                raise PermanentError(
                    f"e-conomic sent the same page twice while listing {what} (page "
                    f"{skip + 1}); brygga stopped rather than loop. Report it to e-conomic"
                )
            results, previous = now, response.content
            if page.collection:
                yield page.collection
            if not page.pagination.more_after(skip, size, len(page.collection)):
                return
            skip += 1
        raise PermanentError(
            f"e-conomic kept offering more pages after {_MAX_PAGES} while listing {what}; "
            "brygga stopped. Report it to e-conomic"
        )

    async def _changed_products(
        self, since: datetime, until: datetime, what: str
    ) -> AsyncGenerator[tuple[CatalogProduct, datetime], None]:
        """Products whose ``lastUpdated`` lies in ``[since cut to seconds, until)``."""
        low = _stamp(since)
        pages = self._product_pages(
            what, filter=f"lastUpdated$gte:{low.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        )
        async for page in pages:
            for product in page:
                modified = parse_last_updated(product.last_updated)
                if modified is None:
                    # e-conomic matched it on lastUpdated, so it changed; place it in the window
                    log.warning(
                        "economic: product %s has no readable lastUpdated (%r)",
                        product.product_number,
                        product.last_updated,
                    )
                    modified = low
                if low <= modified < until and product.product_number.strip():
                    yield product, modified

    # --- ProductSource ---------------------------------------------------------------------

    async def changed_articles(
        self, since: datetime, until: datetime
    ) -> AsyncIterator[ArticleChange]:
        async for product, modified in self._changed_products(since, until, "the changed products"):
            yield ArticleChange(sku=product.product_number, modified_at=modified)

    async def fetch_article(self, sku: str) -> Article | None:
        if not sku.strip() or len(sku.strip()) > MAX_PRODUCT_NUMBER:
            return None  # e-conomic cannot hold such a product number
        found = await self._read(sku.strip())
        return None if found is None else await self._article(found[0])

    async def all_articles(self) -> AsyncIterator[Article]:
        async for page in self._product_pages("the product list"):
            for product in page:
                if product.product_number.strip():
                    yield await self._article(product)

    async def article_count(self) -> int | None:
        """How many products :meth:`all_articles` will read, for the initial sync's ETA
        (``CountsArticles``): one ``GET /products?pagesize=1``, reading the collection's
        ``pagination.results`` (reference/erp-apis.md §1.3). A product without a product
        number is counted but not read, so the count can be a little high. None when the
        answer carries no count (``results`` missing or 0)."""
        response = await self.api.request("GET", "products", params={"pagesize": 1})
        page = self.api.decode(response, wire.Page[Any], "the number of products")
        return page.pagination.results or None

    async def _article(self, product: CatalogProduct) -> Article:
        rate = None
        if product.product_group is not None:
            group = await self.articles.chain.of_group(product.product_group.product_group_number)
            rate = group.rate
        modified = parse_last_updated(product.last_updated)
        if modified is None:
            raise PermanentError(
                f"Article {product.product_number!r}: e-conomic sent no readable lastUpdated "
                f"({product.last_updated!r}); report it to e-conomic"
            )
        try:
            return Article(
                sku=product.product_number,
                name=product.name,
                currency=self.config.base_currency,
                price=product.sales_price,
                vat_rate=rate,
                ean=product.bar_code,
                active=not product.barred,
                modified_at=modified,
            )
        except ValueError as exc:
            raise PermanentError(
                f"Article {product.product_number!r} in e-conomic cannot be read: {exc}; "
                "correct the product in e-conomic."
            ) from None

    # --- CurrencyPrices --------------------------------------------------------------------

    async def price_in(self, sku: str, currency: str) -> Decimal | None:
        """The product's sales price in ``currency``: ``salesPrice`` for the base currency,
        else its currency-specific sales price; None when it has none (or no such product)."""
        number = sku.strip()
        if not number or len(number) > MAX_PRODUCT_NUMBER:
            return None
        if currency == self.config.base_currency:
            found = await self._read(number)
            return None if found is None else found[0].sales_price
        path = (
            f"products/{wire.encode_product_number(number)}/pricing/"
            f"currency-specific-sales-prices/{wire.encode_product_number(currency)}"
        )
        response = await self.api.request("GET", path)
        if response.status_code == 404:
            return None
        what = f"the {currency} price of product {number}"
        price = self.api.decode(response, CurrencyPrice, what)
        if price.currency.code != currency:
            raise PermanentError(
                f"e-conomic answered {what} with a price in {price.currency.code!r}; report it "
                "to e-conomic"
            )
        return price.price

    # --- reads and writes of one product ---------------------------------------------------

    async def _read(self, number: str) -> tuple[CatalogProduct, dict[str, Any]] | None:
        """The product (typed, and the full document for a PUT), or None on 404."""
        response = await self.api.request("GET", f"products/{wire.encode_product_number(number)}")
        if response.status_code == 404:
            return None
        typed = self.api.decode(response, CatalogProduct, f"product {number}")
        raw = self.api.decode_any(response, f"product {number}")
        if not isinstance(raw, dict):
            raise PermanentError(f"e-conomic sent product {number} as something not an object")
        return typed, raw

    async def _write(
        self, method: str, path: str, body: dict[str, Any], number: str
    ) -> CatalogProduct:
        response = await self.api.request(method, path, body=body)
        return self.api.decode(response, CatalogProduct, f"product {number}", write=True)

    def _check_currency(self, sku: str, currency: str) -> None:
        base = self.config.base_currency
        if currency != base:
            raise PermanentError(
                f"Article {sku!r}: the price is in {currency} but e-conomic's salesPrice is in "
                f"the agreement's base currency {base}; send {base} prices, or set base_currency "
                "in [connection.erp] if the agreement's base currency is another "
                "(currency-specific prices are not written by this version)."
            )

    # --- ProductSink -----------------------------------------------------------------------

    def _index(self) -> ProductIndex:
        if self._product_index is None:
            self._product_index = ProductIndex(now=self.reference.clock.monotonic)
        return self._product_index

    async def _read_index(self, index: ProductIndex) -> None:
        """Every product, ``pagesize`` (at most 1000) a page, into ``index`` (a page at a time:
        the index keeps them on disk, not in memory)."""
        index.begin()  # (stale already) the old entries go before the new come
        async for page in self._product_pages("the product list"):
            index.add_page(page)
        count = index.held()  # (a page read twice, after the list shrank, counts once)
        index.finish(count)
        log.debug("economic: read the product list (%d products)", count)

    async def _lookup(self, number: str) -> tuple[CatalogProduct, dict[str, Any] | None] | None:
        """The product as known: from the index (no full document: None) when it can answer,
        else read with ``GET /products/{number}``; None when e-conomic has no such product."""
        index = self._index()
        if not index.knows(number) and number not in index.unsure:
            if index.wants_count():
                index.results = await self.article_count() or 0
            if index.worth_reading():
                await self._read_index(index)
        if index.knows(number):
            known = index.get(number)
            return None if known is None else (known, None)
        index.lookups += 1
        found = await self._read(number)
        if found is not None:
            index.seen(found[0])
        return found

    async def preview_article(self, article: Article, *, create: bool, update: bool) -> Written:
        """What :meth:`put_article` would answer, with its reads and checks and without its
        writes (``brygga sync products --dry-run``, ``brygga.sync.initial_sync.
        PreviewsArticles``): whether the product exists and its compared fields come from the
        same product list (:meth:`_lookup`, 1,000 a page), not a GET per article; a new
        article's product group is chosen and its VAT rate read as the create would
        (a missing ``product_groups`` entry is the same ConfigError). An update is judged on
        the list's fields; the write would read the product whole first, which the preview
        leaves out."""
        number = product_number(article.sku)
        if article.price is not None:
            self._check_currency(article.sku, article.currency)
        found = await self._lookup(number)
        if found is None:
            if not create:
                return "skipped"
            self._name(number, article)
            await self._creation_group(number, article)
            return "created"
        if not update:
            return "skipped"
        current = found[0]
        await self._check_vat(number, article, current)
        return "updated" if self._changes(number, article, current) else "unchanged"

    async def put_article(self, article: Article, *, create: bool, update: bool) -> Written:
        number = product_number(article.sku)
        if article.price is not None:
            self._check_currency(article.sku, article.currency)
        found = await self._lookup(number)
        if found is None:
            if not create:
                return "skipped"
            found = await self._create(number, article)
            if found is None:
                return "created"
            # e-conomic refused the create and has the product: someone made it meanwhile
        if not update:
            return "skipped"
        current, raw = found
        await self._check_vat(number, article, current)
        changes = self._changes(number, article, current)
        if not changes:
            return "unchanged"
        if raw is None:
            # the list gave the compared fields; a PUT needs the full, current document
            fresh = await self._read(number)
            if fresh is None:
                self._index().doubt(number)
                if not create:
                    return "skipped"
                if await self._create(number, article) is None:
                    return "created"
                raise PermanentError(
                    f"e-conomic refused to create product {number} and then did not find it; "
                    "try again, and report it to e-conomic if it repeats"
                )
            current, raw = fresh
            self._index().seen(current)
            await self._check_vat(number, article, current)
            changes = self._changes(number, article, current)
            if not changes:
                return "unchanged"
        body = {**raw, **changes, "productNumber": number}
        if not body.get("barred"):
            body.pop("barred", None)  # false booleans are left out
        path = f"products/{wire.encode_product_number(number)}"
        written = await self._write_watched("PUT", path, body, number)
        self._index().seen(written)
        log.info("economic: updated product %s (%s)", number, ", ".join(sorted(changes)))
        return "updated"

    async def _write_watched(
        self, method: str, path: str, body: dict[str, Any], number: str
    ) -> CatalogProduct:
        """:meth:`_write`; a write that may or may not have landed makes ``number`` unsure."""
        try:
            return await self._write(method, path, body, number)
        except TransientError:
            self._index().doubt(number)
            raise

    def _name(self, number: str, article: Article) -> str:
        name = article.name.strip()
        if not name:
            raise PermanentError(
                f"Article {number!r} has no name, and e-conomic requires one (1-{MAX_NAME} "
                "characters); give the article a name in the source system."
            )
        if len(name) > MAX_NAME:
            raise PermanentError(
                f"Article {number!r}: the name has {len(name)} characters but e-conomic takes at "
                f"most {MAX_NAME}; shorten it in the source system."
            )
        return name

    def _changes(self, number: str, article: Article, current: CatalogProduct) -> dict[str, Any]:
        """The fields to replace (empty: the product already holds the article's values)."""
        changes: dict[str, Any] = {}
        name = self._name(number, article)
        if name != current.name:
            changes["name"] = name
        if article.price is not None and _money(article.price) != current.sales_price:
            changes["salesPrice"] = _money(article.price)
        if article.ean.strip() and article.ean.strip() != current.bar_code:
            changes["barCode"] = article.ean.strip()
        if (not article.active) != current.barred:
            changes["barred"] = not article.active
        return changes

    def _group_for(self, number: str, rate: Decimal | None) -> int:
        """The product group a new product with VAT ``rate`` goes to: its ``product_groups``
        entry, else ``product_group``; else a ConfigError naming the key to set."""
        config = self.config
        if rate is not None:
            for key, group in config.product_groups.items():
                problem = group_key_problem(key)
                if problem:
                    raise ConfigError(problem)
                if Decimal(key) == rate:
                    return group
        if config.product_group is not None:
            return config.product_group
        where = f"e-conomic needs a product group to create article {number!r}"
        if not config.product_groups:
            raise ConfigError(
                f"{where}, and [connection.erp] sets neither product_groups nor product_group; "
                "set product_group = <number> (one for all) or product_groups = "
                '{ "25" = <number>, ... } (per VAT rate) to an e-conomic product group number.'
            )
        if rate is None:
            raise ConfigError(
                f"{where}: the article has no VAT rate, so [connection.erp] product_groups "
                "cannot choose one; set product_group = <group number> for articles without a "
                "rate, or give the article a VAT rate at the source."
            )
        text = rate_text(rate)
        raise ConfigError(
            f"{where} with {text} % VAT: [connection.erp] product_groups has no entry for "
            f'{text} %; add "{text}" = <group number> to product_groups (or set product_group '
            "= <group number> for every rate not listed)."
        )

    async def _group_rate(self, group: int) -> Decimal | None:
        found = await self.articles.chain.of_group(group)
        if found.rate is None:
            self.articles.chain.forget(group)  # read afresh: a fix in e-conomic counts
            found = await self.articles.chain.of_group(group)
        return found.rate

    async def _creation_group(self, number: str, article: Article) -> int:
        """The product group a new ``article`` goes to, its VAT rate read and checked against
        the article's (a ConfigError when the config names none, a PermanentError when the
        group's rate differs)."""
        group = self._group_for(number, article.vat_rate)
        rate = await self._group_rate(group)
        if article.vat_rate is not None and rate != article.vat_rate:
            has = "no VAT rate" if rate is None else f"{rate_text(rate)} % VAT"
            raise PermanentError(
                f"Article {number!r} has {rate_text(article.vat_rate)} % VAT but product group "
                f"{group}, where new products go, has {has} in e-conomic; map the rate with "
                f'product_groups = {{ "{rate_text(article.vat_rate)}" = <group> }} in '
                "[connection.erp], or fix the product group in e-conomic."
            )
        return group

    async def _create(
        self, number: str, article: Article
    ) -> tuple[CatalogProduct, dict[str, Any]] | None:
        """POST the product; None when created. When e-conomic refuses and yet holds the
        product (created by someone else after the index was read, or by an earlier try whose
        answer was lost), the product as read: the caller compares and updates it instead."""
        name = self._name(number, article)
        group = await self._creation_group(number, article)
        body: dict[str, Any] = {
            "productNumber": number,
            "name": name,
            "productGroup": {"productGroupNumber": group},
        }
        if article.price is not None:
            body["salesPrice"] = _money(article.price)
        if article.ean.strip():
            body["barCode"] = article.ean.strip()
        if not article.active:
            body["barred"] = True
        try:
            created = await self._write_watched("POST", "products", body, number)
        except PermanentError:
            found = await self._read(number)
            if found is None:
                raise
            log.info("economic: product %s exists already; comparing it instead", number)
            self._index().seen(found[0])
            return found
        self._index().seen(created)
        log.info("economic: created product %s in product group %d", number, group)
        return None

    async def _check_vat(self, number: str, article: Article, current: CatalogProduct) -> None:
        if article.vat_rate is None or current.product_group is None:
            return
        group = current.product_group.product_group_number
        rate = await self._group_rate(group)
        if rate != article.vat_rate:
            has = "no VAT rate" if rate is None else f"{rate_text(rate)} % VAT"
            raise PermanentError(
                f"Article {number!r} has {rate_text(article.vat_rate)} % VAT but in e-conomic it "
                f"is in product group {group} with {has}; move {number} to a product group with "
                f"{rate_text(article.vat_rate)} % VAT in e-conomic, or correct the VAT rate at "
                "the source."
            )

    # --- PriceSink -------------------------------------------------------------------------

    async def put_price(
        self, sku: str, currency: str, price: Decimal, campaign_price: Decimal | None
    ) -> Written:
        """Set ``salesPrice``. ``campaign_price`` is not stored: e-conomic products have no
        campaign price (``Capabilities.campaign_price`` is false, so ``check`` says so)."""
        number = product_number(sku)
        self._check_currency(sku, currency)
        if price < 0:
            raise PermanentError(
                f"Article {sku!r}: the price {price} is below zero; correct it at the source."
            )
        found = await self._read(number)
        if found is None:
            raise PermanentError(
                f"Article {sku!r} does not exist in e-conomic, so its price cannot be set; "
                "create the article in e-conomic (or let the products register create it)."
            )
        current, raw = found
        wanted = _money(price)
        if current.sales_price == wanted:
            return "unchanged"
        body = {**raw, "salesPrice": wanted, "productNumber": number}
        if not body.get("barred"):
            body.pop("barred", None)
        path = f"products/{wire.encode_product_number(number)}"
        self._index().seen(await self._write_watched("PUT", path, body, number))
        log.info("economic: set the price of product %s to %s", number, wanted)
        return "updated"

    # --- StockSource -----------------------------------------------------------------------

    async def _groups(self, *, refresh: bool = False) -> dict[int, bool]:
        if self._inventory_groups is None or refresh:
            self._inventory_groups = {
                group.product_group_number: group.inventory_enabled
                async for group in self.api.pages(
                    "product-groups",
                    CatalogGroup,
                    "the product groups",
                    page_size=self.config.page_size,
                )
            }
        return self._inventory_groups

    async def _require_inventory_module(self) -> dict[int, bool]:
        groups = await self._groups()
        if not any(groups.values()):
            groups = await self._groups(refresh=True)
        if not any(groups.values()):
            raise PermanentError(
                "e-conomic cannot be the stock source: this agreement has no inventory module "
                "(no product group is inventory-enabled, and products carry no "
                "inventory.available). Turn the inventory module on in e-conomic, or let "
                "another system master stock (stock = ... in the connection's registers)."
            )
        return groups

    def _level(self, product: CatalogProduct, modified: datetime) -> StockLevel | None:
        inventory = product.inventory
        if inventory is None or inventory.available is None:
            return None
        return StockLevel(
            sku=product.product_number, quantity=inventory.available, modified_at=modified
        )

    async def changed_stock(self, since: datetime, until: datetime) -> AsyncIterator[StockLevel]:
        await self._require_inventory_module()
        async for product, modified in self._changed_products(
            since, until, "the products with changed stock"
        ):
            level = self._level(product, modified)
            if level is not None:
                yield level
            else:
                log.debug("economic: product %s has no stock figures", product.product_number)

    async def stock_of(self, sku: str) -> StockLevel | None:
        if not sku.strip() or len(sku.strip()) > MAX_PRODUCT_NUMBER:
            return None
        found = await self._read(sku.strip())
        if found is None:
            return None
        product = found[0]
        modified = parse_last_updated(product.last_updated)
        if modified is None:
            raise PermanentError(
                f"Article {sku!r}: e-conomic sent no readable lastUpdated "
                f"({product.last_updated!r}); report it to e-conomic"
            )
        level = self._level(product, modified)
        if level is not None:
            return level
        groups = await self._require_inventory_module()
        group = product.product_group.product_group_number if product.product_group else None
        if group is not None and not groups.get(group, False):
            raise PermanentError(
                f"Article {sku!r} is in e-conomic product group {group}, which is not "
                "inventory-enabled, so e-conomic keeps no stock for it; move it to an "
                "inventory-enabled group in e-conomic, or leave it out of the shop's stock sync."
            )
        raise PermanentError(
            f"e-conomic sent article {sku!r} without inventory figures although its product "
            f"group {group} is inventory-enabled; check the article in e-conomic."
        )
