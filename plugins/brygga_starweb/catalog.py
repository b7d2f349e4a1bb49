"""The Starweb adapter's catalog side: articles read and written, prices, stock, price lists.

Documented (OpenAPI spec 2.12.0 in starweb/shop-api-sdk-php; reference/shop-apis.md §2) and
relied on: ``GET /products`` with ``updatedSince``, ``sortBy=productId`` and page-based
paging (``meta.pagination``); list and detail calls return only the primary variant, so the
others are read with ``GET /products/{id}/variants`` (unnecessary when
``hasSeveralVariants`` is false); included children are wrapped as ``{"data": ...}``;
``priceExVat`` and ``specialPriceExVat`` exclude VAT; ``POST /products`` takes the product
with its variants and their prices; ``PUT …/stocks/{stockLocationId}`` needs both
``stockStatusId`` and ``stockQuantity``; a variant of a product with several variants needs
``attributeValueLinks`` (ids of attribute values: ``GET|POST /product-attributes`` and
``GET|POST /product-attributes/{attributeId}/values``).

Chosen where the spec is silent (the safe reading, said so in the code):

- **Finding an SKU.** ``filterSku`` is used, but never trusted alone: a variant counts only
  when its own ``sku`` is the one asked for, and SKUs it does not find are looked up in a
  :class:`~brygga_starweb.catalog_index.SkuIndex` of the whole shop.
- **Change feed.** Variants, prices and stock have no change filter of their own; a product's
  ``modifiedAt`` is taken to move when they change (not documented). ``updatedSince`` is
  sent as UTC at whole seconds and the window ``[since, until)`` is applied here.
- **Price list.** Article prices go to the master price list, or, for another currency, the
  active country price list in that currency. Customer price lists only take list prices.
- **Stock** is written at the e-commerce stock location with one request per SKU (``PUT
  …/stocks/{stockLocationId}``), to the product and variant the SKU index placed it in
  (read a page of products at a time, not looked up per SKU; a 404 forgets the place and
  looks once more). Both required fields are sent, so nothing is read first: the stock
  status is the variant's ``stockStatusId`` as the index last read it (the merchant's),
  else ``inStock``/``outOfStock`` by quantity. The index is read again (``updatedSince``)
  at most every :data:`INDEX_FRESH` seconds when stock is written, so a status or a SKU
  changed in admin is seen within that time. A quantity this adapter already wrote to the
  place since it was read is ``unchanged`` without a request.
- **Prices and price lists** go the same way (:meth:`StarwebCatalog._put_variant_price`):
  one ``PUT …/prices/{pricelistId}`` per SKU (``PATCH`` with only ``priceExVat`` for a
  customer price list; ``POST …/prices`` where the variant has no price in the list), to the
  place the same SKU index holds, which reads each variant's prices with it
  (``primaryVariant.prices``, and ``include=prices`` for the other variants), so nothing is
  read per SKU. A price equal to the one read or written since is ``unchanged``; a ``POST``
  not answered is in doubt and the variant's prices are read before the next write of it.
- **Creating** (:meth:`StarwebCatalog.put_article`) uses the same SKU index: a run of new
  SKUs costs one ``POST /products`` each plus the index's page reads, not a lookup per SKU.
  The rule that keeps a create exactly-once is in :meth:`StarwebCatalog._locate_for_put`.
- **Products with variants.** A variant's article name is the product's name and the
  variant's (:func:`brygga.catalog.variant_title`, "Tröja S"); the product is named with
  :func:`brygga.catalog.product_title` ("Tröja"), also from a flat article of a source
  without variants that lands in a variant (its name less the variant's own name). A
  product's own record (``Article.has_variants``: Specter's parent item) never becomes a
  variant: it names the product its variants made (group key = its SKU), and is skipped
  with a sentence while there is none (the first variant makes it, named from that
  variant). A variant of a product the source keeps (``product_sku``) does not rename the
  product: its siblings would overwrite each other, and the product's own record names it.
- **Not written:** the product's visibility after creation, and an empty EAN or name (the
  shop keeps its value: an empty field at the source is read as "not said").
- **Further variants.** A further variant of an existing product gets one attribute value,
  read from ``variant_name`` by the rules of :mod:`brygga_starweb.catalog_attributes`;
  attributes and values are reused by name (case-insensitive, any language), created in the
  shop's default language when missing. The first variant of a product group brygga
  creates gets one as well when its name says one. Attribute names are read with
  ``include=languages`` (the model wraps them as an included child; not otherwise said).

Partial (said so in the code): variants already in the shop are not given attribute values
(e.g. a product created in admin with one variant, or by brygga from a first variant whose
name says no attribute, keeps that variant without one); a variant name the rules cannot
read fails with a sentence saying what to do. Volume prices (``min_quantity`` above 1) are
not written either.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import msgspec

from brygga.catalog import Article, ArticleChange, ListPrice, product_title
from brygga.clock import Clock
from brygga.errors import NothingToDo, PermanentError, TransientError
from brygga.registers import (
    PriceListSink,
    PriceSink,
    ProductSink,
    ProductSource,
    StockSink,
    Written,
)
from brygga_starweb.calls import StarwebCalls
from brygga_starweb.catalog_attributes import attribute_and_value, same_name, unmappable
from brygga_starweb.catalog_index import Place, Prices, SkuIndex
from brygga_starweb.catalog_mapping import (
    MAX_STOCK,
    article_of,
    check_article,
    check_sku,
    new_product_body,
    new_variant_body,
    price_body,
    product_changes,
    product_sku_of,
    utc_seconds,
    variant_changes,
)
from brygga_starweb.catalog_seen import SeenIds
from brygga_starweb.catalog_wire import (
    AttributeValueWire,
    AttributeWire,
    PricelistWire,
    PriceWire,
    ProductWire,
    ShopWire,
    StockLocationWire,
    StockStatusWire,
    VariantWire,
    decode_list,
    decode_one,
    decode_product_page,
    included,
)
from brygga_starweb.wire import Pagination

__all__ = ["CATALOG_NOTES", "CREATE_FRESH", "INDEX_FRESH", "StarwebCatalog"]

log = logging.getLogger(__name__)

#: a collection's row type
T = TypeVar("T")

PRODUCT_INCLUDES = "primaryVariant,primaryVariant.prices,languages"
#: the SKU index's product-list read: each primary variant with its prices (the others come
#: with theirs from ``GET /products/{id}/variants``), so a price write needs no read first
INDEX_INCLUDES = "primaryVariant,primaryVariant.prices"
VARIANT_INCLUDES = "prices,attributeValues"
#: ``filterSku`` "Has to follow the pattern of /[A-Za-z0-9._-]+$/"
FILTER_SKU = re.compile(r"^[A-Za-z0-9._-]+$")
#: sentences kept of records the article streams skipped (bad shop data)
SKIPPED_KEPT = 1000
#: how many times a product-list walk starts over because the list shrank under it
RESTARTS = 3
#: seconds a stock write trusts the SKU index before reading the products changed since
INDEX_FRESH = 60.0
#: seconds a create trusts the SKU index's "not in the shop" before reading the products
#: changed since (shorter than :data:`INDEX_FRESH`: a stale place costs a 404 and a second
#: look, a stale "missing" could cost a duplicate product)
CREATE_FRESH = 10.0

CATALOG_NOTES = (
    "Starweb lists only a product's primary variant; brygga reads the others per product "
    "(GET /products/{id}/variants) and keeps an SKU index of the shop, since filterSku is "
    "not documented to match other variants.",
    "Starweb has no change filter for variants, prices or stock: the product feed "
    "(updatedSince) is assumed to move when they change.",
    "Stock is written to the variant the SKU index placed the SKU in, with the variant's "
    f"stock status as last read; the index is read again at most every {INDEX_FRESH:.0f} s "
    "while stock is written, so a SKU or status changed in admin is seen within that time.",
    "Prices and price-list prices are written to the variant the SKU index placed the SKU "
    "in, compared with the prices the index read (at most "
    f"{INDEX_FRESH:.0f} s old while prices or stock are written), not read per SKU.",
    "A new SKU is created without a lookup of its own when the SKU index was read less "
    f"than {CREATE_FRESH:.0f} s before; else the products changed since are read first. A "
    "product with the same SKU created elsewhere within those seconds can be created twice.",
    "Starweb needs an attribute value for each further variant of a product; brygga reads "
    "it from the variant name ('Storlek: M', 'Storlek M', or the whole name under the "
    "configured variant_attribute), reusing or creating the attribute and value.",
)


@dataclass
class Located:
    """An SKU in the shop: its product, the variant (with its prices) and whether the
    product has several variants."""

    product: ProductWire
    variant: VariantWire
    several: bool

    @property
    def variant_path(self) -> str:
        return f"products/{self.product.product_id}/variants/{self.variant.variant_id}"


@dataclass
class _CatalogCache:
    """Shop reference data read once per adapter, and the SKU index."""

    shop: ShopWire | None = None
    pricelists: list[PricelistWire] | None = None
    location: int | None = None
    stock_statuses: list[StockStatusWire] | None = None
    index: SkuIndex | None = None
    #: stock writes before the index exists: the product list's page count (what reading
    #: the index costs), the SKUs looked up one by one so far, and where they were found
    #: (when, on the adapter clock's monotonic seconds, and the place)
    list_pages: int | None = None
    lookups: int = 0
    looked_up: dict[str, tuple[float, Place]] = field(default_factory=dict)
    attributes: list[AttributeWire] | None = None
    #: attributeId -> its values
    values: dict[int, list[AttributeValueWire]] = field(default_factory=dict)
    #: SKUs whose create was sent but not answered as done (a timeout, a 5xx, a refusal): the
    #: next put of one looks it up in the shop before it creates anything
    in_doubt: set[str] = field(default_factory=set)
    #: (SKU, pricelistId) whose price create (``POST …/prices``) was sent but not answered:
    #: the next write of that price reads the variant's prices before it writes
    prices_in_doubt: set[tuple[str, int]] = field(default_factory=set)
    #: sentences of shop records the article streams skipped (bad data), newest last
    skipped: list[str] = field(default_factory=list)


def _json(value: Any) -> Any:
    """A request body for the JSON encoder: Decimals as numbers (Starweb's money is JSON
    numbers; two-decimal amounts survive the float's shortest repr)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


class StarwebCatalog(StarwebCalls, ProductSource, ProductSink, PriceSink, StockSink, PriceListSink):
    """The catalog registers of :class:`~brygga_starweb.adapter.StarwebAdapter` (a mixin:
    its requests go through :meth:`StarwebCalls._call`, as the adapter's do)."""

    _catalog_cache: _CatalogCache | None = None
    #: the adapter's clock (set by the adapter)
    _clock: Clock
    #: the attribute a variant name without one goes under ("" = none; adapter config)
    variant_attribute: str = ""

    @property
    def _catalog(self) -> _CatalogCache:
        if self._catalog_cache is None:
            self._catalog_cache = _CatalogCache()
        return self._catalog_cache

    @property
    def skipped_records(self) -> list[str]:
        """Sentences naming shop records the article streams skipped (e.g. a variant
        without SKU), for the error queue; each is also logged as a WARNING."""
        return list(self._catalog.skipped)

    def _skip(self, message: str) -> None:
        log.warning("starweb shop %s: skipped: %s", self.shop, message)
        skipped = self._catalog.skipped
        skipped.append(message)
        del skipped[:-SKIPPED_KEPT]

    # -- reference data -----------------------------------------------------------------

    async def _shop_info(self) -> ShopWire:
        cache = self._catalog
        if cache.shop is None:
            response = await self._call("GET", "shop", f"Starweb shop {self.shop}: shop details")
            cache.shop = decode_one(response.content, ShopWire, f"Starweb shop {self.shop}")
        return cache.shop

    async def _language(self) -> str:
        return (await self._shop_info()).default_lang_code or "sv"

    async def _pricelists(self) -> list[PricelistWire]:
        cache = self._catalog
        if cache.pricelists is None:
            cache.pricelists = await self._all("pricelists", {}, PricelistWire, "price lists")
        return cache.pricelists

    async def _price_list_for(self, currency: str | None, sku: str) -> PricelistWire:
        """The price list article prices go to: the master, or for another currency the
        active country price list in it (never a customer price list)."""
        lists = await self._pricelists()
        master = next((p for p in lists if p.is_master), None)
        if currency is None or (master is not None and master.currency_code == currency):
            if master is None:
                raise PermanentError(
                    f"Starweb shop {self.shop} lists no master price list; check that the API "
                    "client may read price lists"
                )
            return master
        for pricelist in lists:
            if (
                pricelist.currency_code == currency
                and pricelist.is_active
                and not pricelist.is_customer_pricelist
            ):
                return pricelist
        known = ", ".join(sorted({p.currency_code or "?" for p in lists}))
        raise PermanentError(
            f"SKU {sku}: Starweb shop {self.shop} has no active price list in {currency} "
            f"(it has {known or 'none'}); add a country price list in {currency} in Starweb "
            "admin or set the connection's currency for this shop"
        )

    async def _target_list(self, target: str, sku: str) -> PricelistWire:
        """A price list named by id, name or externalId."""
        for pricelist in await self._pricelists():
            if target in (str(pricelist.pricelist_id), pricelist.name, pricelist.external_id):
                return pricelist
        raise PermanentError(
            f"SKU {sku}: Starweb shop {self.shop} has no price list {target!r} (by id, name "
            "or externalId); fix the price-list mapping of the connection"
        )

    async def _stock_location(self) -> int:
        cache = self._catalog
        if cache.location is None:
            rows = await self._all("stock-locations", {}, StockLocationWire, "stock locations")
            chosen = [r for r in rows if r.ecommerce_stock_location] or (
                rows if len(rows) == 1 else []
            )
            if not chosen:
                raise PermanentError(
                    f"Starweb shop {self.shop} has no e-commerce stock location; mark one in "
                    "Starweb admin (Stock locations)"
                )
            cache.location = chosen[0].stock_location_id
        return cache.location

    async def _status_for(self, quantity: Decimal) -> int:
        cache = self._catalog
        if cache.stock_statuses is None:
            cache.stock_statuses = await self._all(
                "product-stock-statuses", {}, StockStatusWire, "stock statuses"
            )
        wanted = "inStock" if quantity > 0 else "outOfStock"
        for status in cache.stock_statuses:
            if status.id_code == wanted:
                return status.stock_status_id
        raise PermanentError(
            f"Starweb shop {self.shop} has no stock status {wanted!r}; it is a standard status, "
            "so check that the API client may read product stock statuses"
        )

    # -- paging ---------------------------------------------------------------------------

    async def _pages(
        self, path: str, params: dict[str, Any], type_: type[Any], what: str
    ) -> AsyncIterator[list[Any]]:
        """Every page of a collection (a collection without ``meta`` is one page)."""
        page = 1
        while True:
            response = await self._call(
                "GET",
                path,
                f"Starweb shop {self.shop}: {what} page {page}",
                params={**params, "page": page},
            )
            rows, pagination = decode_list(
                response.content, type_, f"Starweb shop {self.shop}: {what} page {page}"
            )
            yield rows
            if pagination is None or not rows or page >= pagination.total_pages:
                return
            page += 1

    async def _all(self, path: str, params: dict[str, Any], type_: type[T], what: str) -> list[T]:
        """Every row of a collection, read page by page."""
        rows: list[T] = []
        async for chunk in self._pages(path, params, type_, what):
            rows += chunk
        return rows

    async def _product_pages(
        self, params: dict[str, Any]
    ) -> AsyncIterator[tuple[list[ProductWire], Pagination]]:
        """Pages of ``GET /products`` sorted by productId; unreadable rows are skipped (and
        reported). A total that shrinks under the walk (a product deleted) would move a row
        past the cursor: the walk reads from page 1 again (rows may repeat; callers dedupe)."""
        page, total, restarts = 1, None, 0
        while True:
            response = await self._call(
                "GET",
                "products",
                f"Starweb shop {self.shop}: product list page {page}",
                params={**params, "sortBy": "productId", "sortOrder": "ASC", "page": page},
            )
            rows, bad, pagination = decode_product_page(response.content, page)
            for row in bad:
                self._skip(row.message)
            if total is not None and pagination.total < total:
                if restarts == RESTARTS:
                    raise TransientError(
                        f"Starweb shop {self.shop}: products kept disappearing while the "
                        "product list was read; trying again later"
                    )
                page, total, restarts = 1, None, restarts + 1
                continue
            total = pagination.total if total is None else total
            yield rows, pagination
            if (not rows and not bad) or page >= pagination.total_pages:
                return
            page += 1

    async def _variants(self, product: ProductWire) -> list[VariantWire]:
        """Every variant with its prices: the included primary one, or all of them from
        ``/products/{id}/variants`` when ``hasSeveralVariants`` (spec: list and detail calls
        return only the primary variant)."""
        if not product.has_several_variants:
            primary = product.primary
            if primary is not None and primary.prices is not None:
                return [primary]
        return await self._all(
            f"products/{product.product_id}/variants",
            {"include": VARIANT_INCLUDES},
            VariantWire,
            f"product {product.product_id} variants",
        )

    # -- finding an SKU -------------------------------------------------------------------

    async def _locate(self, sku: str, *, refreshed: bool = False) -> Located | None:
        """The variant with exactly this SKU: by ``filterSku`` first (documented for "a
        product with the specified SKU"), then by the SKU index (brought up to date on a
        miss: a variant added since must not be created twice; not again when the caller
        has just ``refreshed`` it)."""
        if FILTER_SKU.match(sku):
            response = await self._call(
                "GET",
                "products",
                f"SKU {sku}: Starweb product lookup",
                params={"filterSku": sku, "include": PRODUCT_INCLUDES},
            )
            rows, _ = decode_list(response.content, ProductWire, f"SKU {sku}: Starweb products")
            for product in rows:
                found = await self._in_product(product, sku)
                if found is not None:
                    return found
        index = await self._index()
        for attempt in range(2):
            product_id = index.skus.get(sku)
            if product_id is not None:
                found = await self._in_product_id(product_id, sku)
                if found is not None:
                    return found
                index.forget(sku)  # deleted or renamed since: read the shop again
            if attempt == 0 and product_id is None and refreshed:
                break
            if attempt == 0 and not await self._refresh(index, full=product_id is not None):
                break
        return None

    async def _in_product(self, product: ProductWire, sku: str) -> Located | None:
        variants = await self._variants(product)
        for variant in variants:
            if (variant.sku or "").strip() == sku:
                return Located(product, variant, product.has_several_variants)
        return None

    async def _in_product_id(self, product_id: int, sku: str) -> Located | None:
        product = await self._product(product_id, f"SKU {sku}")
        return None if product is None else await self._in_product(product, sku)

    async def _product(self, product_id: int, who: str) -> ProductWire | None:
        response = await self._call(
            "GET",
            f"products/{product_id}",
            f"{who}: Starweb product {product_id}",
            params={"include": PRODUCT_INCLUDES},
            ok=(200, 404),
        )
        if response.status_code == 404:
            return None
        return decode_one(response.content, ProductWire, f"{who}: Starweb product {product_id}")

    async def _index(self) -> SkuIndex:
        cache = self._catalog
        if cache.index is None:
            index = SkuIndex()
            await self._refresh(index, full=True)
            cache.index = index
        return cache.index

    async def _refresh(self, index: SkuIndex, *, full: bool) -> bool:
        """Read the products changed since the newest one the index holds (all of them when
        ``full``) into the index; False when nothing new was found."""
        params: dict[str, Any] = {"include": INDEX_INCLUDES}
        if index.newest is not None and not full:
            params["updatedSince"] = utc_seconds(index.newest)
        before = (len(index.skus), index.newest)
        started = self._clock.monotonic()
        async for products, _ in self._product_pages(params):
            for product in products:
                variants = await self._index_variants(product)
                skus = [s for v in variants if (s := _sku(v))]
                group = product_sku_of(product, skus[0] if skus else "", True)
                index.add(product.product_id, skus, group, product.modified_at)
                index.place_product(
                    product.product_id,
                    [
                        (s, v.variant_id, v.stock_status_id, _prices(v))
                        for v in variants
                        if (s := _sku(v)) and v.variant_id is not None
                    ],
                )
        index.read_at = started
        return full or (len(index.skus), index.newest) != before

    async def _index_variants(self, product: ProductWire) -> list[VariantWire]:
        if not product.has_several_variants and product.primary is not None:
            return [product.primary]
        return await self._variants(product)

    async def _group(self, key: str) -> int | None:
        """The product whose group key (``externalId``, or the primary variant's SKU) is
        ``key`` (a key the index does not know is looked for again when the index is older
        than :data:`CREATE_FRESH`, as in :meth:`_locate_for_put`)."""
        index = await self._index()
        if key not in index.groups and key not in index.skus and self._stale(index):
            await self._refresh(index, full=False)
        return index.groups.get(key, index.skus.get(key))

    def _stale(self, index: SkuIndex) -> bool:
        """Whether the index was last read :data:`CREATE_FRESH` seconds ago or more."""
        return index.read_at is None or self._clock.monotonic() - index.read_at >= CREATE_FRESH

    async def _locate_for_put(self, sku: str) -> Located | None:
        """The SKU's variant for :meth:`put_article`, or None when the shop has none and it
        may be created.

        The rule that keeps a create exactly-once without a lookup per new SKU:

        - Before the index exists, :meth:`_locate` (``filterSku``; a miss reads the whole
          product list into the index, once). The index then holds every product that
          existed when it was read, among them any an earlier run created (also one that
          was killed after its ``POST`` landed, unanswered).
        - A product this adapter creates goes into the index at once (from the ``POST``'s
          answer), so it is never created again by this process.
        - A SKU the index does not know is taken as missing only when the index was read
          (whole, or the products changed since its newest, ``updatedSince``) less than
          :data:`CREATE_FRESH` seconds ago; when it is older, the changed products are read
          first. One such read serves every create in the next :data:`CREATE_FRESH`
          seconds, so a run of new SKUs costs one ``POST`` each plus those pages, which are
          mostly the run's own new products read back (about one page per 100 creates).
        - The index's ``newest`` moves only with what a read showed, never with this
          adapter's own creates, so a product created elsewhere in between is in the next
          read even when its ``modifiedAt`` is older than ours.
        - A SKU whose create was not answered as done (timeout, 5xx, refusal) is in doubt:
          its next put looks it up in the shop (:meth:`_locate`: ``filterSku``, then the
          changed products) before it creates anything.

        The limit: a product with this SKU created elsewhere (admin, another program) less
        than :data:`CREATE_FRESH` seconds before this create is not seen, and Starweb is not
        documented to refuse a second product with one SKU (the simulator does)."""
        cache = self._catalog
        index = cache.index
        if index is None or sku in cache.in_doubt:
            located = await self._locate(sku)
            cache.in_doubt.discard(sku)
            return located
        product_id = index.skus.get(sku)
        if product_id is None and self._stale(index):
            await self._refresh(index, full=False)
            product_id = index.skus.get(sku)
        if product_id is None:
            return None
        found = await self._in_product_id(product_id, sku)
        if found is not None:
            return found
        index.forget(sku)  # deleted or moved since the index read it: look it up
        return await self._locate(sku)

    # -- ProductSource ----------------------------------------------------------------------

    async def changed_articles(
        self, since: datetime, until: datetime
    ) -> AsyncIterator[ArticleChange]:
        """Every variant SKU of the products modified in ``[since, until)``."""
        if since.tzinfo is None or until.tzinfo is None:
            raise ValueError("since and until must be timezone-aware")
        params = {"updatedSince": utc_seconds(since), "include": "primaryVariant"}
        async for products, _ in self._product_pages(params):
            for product in products:
                if not since <= product.modified_at < until:
                    continue
                for variant in await self._index_variants(product):
                    sku = _sku(variant)
                    if sku is None:
                        self._skip(_no_sku(product, variant))
                        continue
                    yield ArticleChange(sku=sku, modified_at=product.modified_at.astimezone(UTC))

    async def fetch_article(self, sku: str) -> Article | None:
        if not sku.strip():
            return None
        located = await self._locate(sku)
        if located is None:
            return None
        pricelist = await self._price_list_for(None, sku)
        return article_of(located.product, located.variant, pricelist, several=located.several)

    async def article_count(self) -> int | None:
        """The number of *products* in the shop, for the initial sync's ETA
        (``CountsArticles``): ``GET /products?page=1`` and its ``meta.pagination.total``
        (reference/shop-apis.md §2). :meth:`all_articles` yields variants, and Starweb's list
        counts products, not variants, so for a shop with variants this is a lower bound and
        the ETA approximate (the initial sync takes the larger of it and the last whole run's
        count, and the progress says so when the count is passed). Chosen over None: a count
        of products still gives a first run a useful total. None when the answer has no
        ``meta.pagination``."""
        what = f"Starweb shop {self.shop}: the number of products"
        response = await self._call("GET", "products", what, params={"page": 1})
        _, pagination = decode_list(response.content, Any, what)
        return None if pagination is None else pagination.total

    async def all_articles(self) -> AsyncIterator[Article]:
        """Every variant of every product, a product-list page at a time. A variant that
        cannot be mapped (e.g. without SKU) is skipped, logged and kept in
        :attr:`skipped_records`, so one bad record does not stop the initial sync."""
        pricelist = await self._price_list_for(None, "(all)")
        seen = SeenIds()  # (8 bytes a product: catalog_seen)
        async for products, _ in self._product_pages({"include": PRODUCT_INCLUDES}):
            for product in products:
                if not seen.first_time(product.product_id):
                    continue
                for variant in await self._variants(product):
                    try:
                        article = article_of(
                            product, variant, pricelist, several=product.has_several_variants
                        )
                    except PermanentError as exc:
                        self._skip(str(exc))
                        continue
                    yield article

    # -- ProductSink --------------------------------------------------------------------------

    async def put_article(self, article: Article, *, create: bool, update: bool) -> Written:
        """Create the article when missing, else write only what differs: the product's
        name and VAT rate, the variant's active flag, EAN and weight, and its price in the
        price list of ``article.currency``."""
        check_article(article)
        if article.has_variants:
            return await self._put_product(article, update=update)
        pricelist = await self._price_list_for(article.currency, article.sku)
        located = await self._locate_for_put(article.sku)
        if located is None:
            if not create:
                return "skipped"
            await self._create(article, pricelist.pricelist_id)
            return "created"
        lang = await self._language()
        writes = self._writes(located, article, pricelist.pricelist_id, lang)
        if not writes:
            return "unchanged"
        if not update:
            return "skipped"
        what = f"SKU {article.sku}: Starweb product {located.product.product_id}"
        prices = any(path.startswith(f"{located.variant_path}/prices") for _, path, _, _ in writes)
        if prices:
            self._note_prices(located, None)
        for method, path, body, ok in writes:
            await self._call(method, path, what, json=_json(body), ok=ok)
        if prices and (known := _prices(located.variant)) is not None:
            assert article.price is not None  # a price write is made only for a price
            known[pricelist.pricelist_id] = (article.price, article.campaign_price)
            self._note_prices(located, known)
        return "updated"

    async def _put_product(self, article: Article, *, update: bool) -> Written:
        """A product's own record (``has_variants``): its variants are the shop's articles,
        so it never becomes a variant of itself; the product its variants made (group key =
        its SKU) gets its name and VAT rate. Nothing is created for it."""
        product_id = await self._group(article.sku)
        who = f"product {article.sku}"
        product = None if product_id is None else await self._product(product_id, who)
        if product is None:
            raise NothingToDo(
                f"{who} has variants at the source and is no article of its own; Starweb shop "
                f"{self.shop} has no product of its variants yet (the first variant makes it, "
                "named from that variant), so there is nothing to name; its next change looks "
                "again"
            )
        writes = self._product_writes(product, article, article.name, await self._language())
        if not writes:
            return "unchanged"
        if not update:
            return "skipped"
        what = f"{who}: Starweb product {product.product_id}"
        for method, path, body, ok in writes:
            await self._call(method, path, what, json=_json(body), ok=ok)
        return "updated"

    def _product_writes(
        self, product: ProductWire, article: Article, name: str, lang: str
    ) -> list[tuple[str, str, dict[str, Any], tuple[int, ...]]]:
        """The product-level writes: its name (``name``, when given and different) and VAT."""
        product_path = f"products/{product.product_id}"
        writes: list[tuple[str, str, dict[str, Any], tuple[int, ...]]] = []
        if name and product.name != name:
            body = {"langCode": lang, "name": name}
            writes.append(("PATCH", f"{product_path}/languages/{lang}", body, (200,)))
        if changes := product_changes(product, article):
            writes.append(("PATCH", product_path, changes, (200,)))
        return writes

    def _writes(
        self, located: Located, article: Article, pricelist_id: int, lang: str
    ) -> list[tuple[str, str, dict[str, Any], tuple[int, ...]]]:
        name = article.name
        if article.product_sku and article.product_sku != article.sku:
            # a variant of a product the source keeps: the product's own record names it
            # (has_variants), else its first variant did when it made the product
            name = ""
        elif located.several:
            # a flat article in a variant: the product's name is the article's less the
            # variant's own ("Tröja S" in variant "S" names "Tröja")
            name = product_title(name, article.variant_name or located.variant.name)
        writes = self._product_writes(located.product, article, name, lang)
        if changes := variant_changes(located.variant, article):
            if not article.ean:
                changes.pop("ean", None)  # an empty EAN at the source: the shop keeps its own
            if changes:
                writes.append(("PATCH", located.variant_path, changes, (200,)))
        if article.price is not None:
            current = located.variant.price_in(pricelist_id)
            body = price_body(pricelist_id, article)
            if current is None:
                writes.append(("POST", f"{located.variant_path}/prices", body, (200, 201)))
            elif (current.price_ex_vat, current.special_price_ex_vat) != (
                article.price,
                article.campaign_price,
            ):
                path = f"{located.variant_path}/prices/{pricelist_id}"
                writes.append(("PUT", path, body, (200,)))
        return writes

    async def _create(self, article: Article, pricelist_id: int) -> None:
        """A new product with the article as its one variant, or (when ``product_sku`` names
        a product of the shop) a further variant of it."""
        index = await self._index()
        group_key = article.product_sku if article.product_sku != article.sku else ""
        group = await self._group(group_key) if group_key else None
        if group is not None:
            await self._create_variant(article, group, pricelist_id)
            return
        what = f"SKU {article.sku}: new Starweb product"
        named = article
        if group_key:  # the product of a group is named without the variant ("Tröja")
            named = msgspec.structs.replace(
                article, name=product_title(article.name, article.variant_name)
            )
        body = new_product_body(named, pricelist_id, await self._language())
        if group_key:
            # the first variant of a product group gets its attribute value too when its
            # name says one, so the product's variants all carry one once it has several
            link = await self._attribute_value_for(article, required=False)
            if link is not None:
                body["variants"][0]["attributeValueLinks"] = [link]
        in_doubt = self._catalog.in_doubt
        in_doubt.add(article.sku)  # until the answer says it is done
        response = await self._call("POST", "products", what, json=_json(body), ok=(201, 200))
        created = decode_one(response.content, ProductWire, what)
        # into the index at once (its modifiedAt is not taken as the index's newest: a
        # product created elsewhere just before it must still be read by the next refresh)
        index.add(created.product_id, [article.sku], group_key, None)
        in_doubt.discard(article.sku)

    async def _create_variant(self, article: Article, product_id: int, pricelist_id: int) -> None:
        product = await self._product(product_id, f"SKU {article.sku}")
        if product is None:
            raise PermanentError(
                f"SKU {article.sku}: Starweb product {product_id} (product {article.product_sku}) "
                "disappeared while brygga added a variant to it; retry"
            )
        links: list[int] = []
        if product.primary is not None:
            # PARTIAL: the product's existing variants are not given attribute values here
            link = await self._attribute_value_for(article, required=True)
            assert link is not None
            links.append(link)
        what = f"SKU {article.sku}: new variant of Starweb product {product_id}"
        body = new_variant_body(article, pricelist_id)
        if links:
            body["attributeValueLinks"] = links
        in_doubt = self._catalog.in_doubt
        in_doubt.add(article.sku)  # until the answer says it is done
        await self._call(
            "POST", f"products/{product_id}/variants", what, json=_json(body), ok=(201, 200)
        )
        (await self._index()).add(product_id, [article.sku], "", None)
        in_doubt.discard(article.sku)

    async def _attributes(self) -> list[AttributeWire]:
        cache = self._catalog
        if cache.attributes is None:
            cache.attributes = await self._all(
                "product-attributes", {"include": "languages"}, AttributeWire, "attributes"
            )
        return cache.attributes

    async def _values(self, attribute_id: int, *, fresh: bool = False) -> list[AttributeValueWire]:
        cache = self._catalog
        if fresh or attribute_id not in cache.values:
            cache.values[attribute_id] = await self._all(
                f"product-attributes/{attribute_id}/values",
                {},
                AttributeValueWire,
                f"values of attribute {attribute_id}",
            )
        return cache.values[attribute_id]

    async def _attribute_value_for(self, article: Article, *, required: bool) -> int | None:
        """The id of the attribute value named by ``article.variant_name``: the shop's own
        attribute and value when their names match (case-insensitive), else created. A name
        that says none is a PermanentError when ``required``, else None."""
        attributes = await self._attributes()
        known = [name for a in attributes for name in a.names]
        pair = attribute_and_value(article.variant_name, self.variant_attribute, known)
        if pair is None:
            if not required:
                return None
            raise PermanentError(unmappable(article.sku, article.variant_name, article.product_sku))
        attribute_name, value_name = pair
        lang = await self._language()
        what = f"SKU {article.sku}: Starweb attribute {attribute_name!r}"
        attribute = next(
            (a for a in attributes if any(same_name(n, attribute_name) for n in a.names)), None
        )
        if attribute is None:
            body = {"languages": [{"langCode": lang, "name": attribute_name}]}
            response = await self._call(
                "POST", "product-attributes", what, json=body, ok=(201, 200)
            )
            attribute = decode_one(response.content, AttributeWire, what)
            attributes.append(attribute)
            self._catalog.values[attribute.attribute_id] = []
        attribute_id = attribute.attribute_id
        found = _value_named(await self._values(attribute_id), value_name)
        if found is not None:
            return found
        path = f"product-attributes/{attribute_id}/values"
        body = {"languages": [{"langCode": lang, "name": value_name}]}
        # the spec answers this POST with the attribute's values (200): read them again
        # rather than rely on the answer's shape
        await self._call("POST", path, f"{what}, value {value_name!r}", json=body, ok=(200, 201))
        found = _value_named(await self._values(attribute_id, fresh=True), value_name)
        if found is None:
            raise PermanentError(
                f"{what}: Starweb accepted the value {value_name!r} but does not list it; "
                "check the attribute in Starweb admin, then retry"
            )
        return found

    # -- PriceSink ----------------------------------------------------------------------------

    async def put_price(
        self, sku: str, currency: str, price: Decimal, campaign_price: Decimal | None
    ) -> Written:
        """``priceExVat`` and ``specialPriceExVat`` (both excl. VAT, as given) of the
        variant in the price list of ``currency``: one ``PUT …/prices/{pricelistId}`` to the
        place the SKU index holds (:meth:`_put_variant_price`)."""
        for label, amount in (("price", price), ("campaign price", campaign_price)):
            if amount is not None and (not amount.is_finite() or amount < 0):
                raise PermanentError(
                    f"SKU {sku}: {label} {amount} is below zero or not a number; Starweb "
                    "prices are from 0 up (fix the price at the source)"
                )
        check_sku(sku)
        pricelist = await self._price_list_for(currency, sku)
        what = f"SKU {sku}: Starweb price in price list {pricelist.name or pricelist.pricelist_id}"
        return await self._put_variant_price(
            sku, pricelist.pricelist_id, price, campaign_price, what=what, register="price"
        )

    async def _put_variant_price(
        self,
        sku: str,
        pricelist_id: int,
        price: Decimal,
        special: Decimal | None,
        *,
        what: str,
        register: str,
        keep_special: bool = False,
    ) -> Written:
        """The variant's price in a price list, written to the place the SKU index holds
        (:meth:`_place`, as stock is): no lookup per SKU, one write.

        - The index read each variant's prices with it, so nothing is read first: a price
          list the variant has a price in gets ``PUT`` (both prices; ``PATCH`` with only
          ``priceExVat`` when ``keep_special``: a list price leaves the special price as it
          is), one it has none in gets ``POST …/prices`` (spec §2.9: "Create with POST").
        - A price equal to the one the index read (at most :data:`INDEX_FRESH` seconds ago,
          and the products changed since, ``updatedSince``) or this adapter wrote since is
          ``unchanged`` without a request.
        - A 404 (product, variant or price gone) forgets the place and looks once more.
        - A ``POST`` not answered as done (timeout, 5xx) is in doubt: the next write of that
          price reads the variant's prices (``GET …/prices``) first, so it is not created
          twice; a refused ``POST`` (a price made in that list since the index read it)
          reads them too and updates instead. ``PUT`` and ``PATCH`` set the same values
          when repeated, so they are simply sent again, as stock's ``PUT`` is; until then
          the variant's prices count as not known (read before its next price write), so
          a later write of the value from before is not taken as unchanged."""
        cache = self._catalog
        key = (sku, pricelist_id)
        body: dict[str, Any] = {"pricelistId": pricelist_id, "priceExVat": price}
        if not keep_special:
            body["specialPriceExVat"] = special
        for retry in (False, True):
            place = await self._place(sku)
            if place is None:
                raise PermanentError(_missing(sku, self.shop, register))
            if place.prices is None or key in cache.prices_in_doubt:
                prices = await self._read_prices(place, what)
                cache.prices_in_doubt.discard(key)
                if prices is None:  # the variant is gone: look again
                    self._lose(sku)
                    continue
                place.prices = prices
            current = place.prices.get(pricelist_id)
            kept = current[1] if current is not None else None
            new = (price, kept if keep_special else special)
            if current is not None and current == new:
                return "unchanged"
            path = f"products/{place.product_id}/variants/{place.variant_id}/prices"
            if current is None:
                cache.prices_in_doubt.add(key)  # until the answer says it is done
                response = await self._call(
                    "POST", path, what, json=_json(body), ok=(201, 200, 400, 404, 409, 422)
                )
                cache.prices_in_doubt.discard(key)  # answered: it landed, or it did not
                if response.status_code == 404:
                    self._lose(sku)
                    continue
                if response.status_code not in (200, 201):
                    # refused; a price made in this list since the index read the variant?
                    prices = await self._read_prices(place, what)
                    if retry or prices is None or pricelist_id not in prices:
                        raise self._refusal(response, what)
                    place.prices = prices
                    continue
            else:
                update = "PATCH" if keep_special else "PUT"
                ok = (200,) if retry else (200, 404)
                try:
                    response = await self._call(
                        update, f"{path}/{pricelist_id}", what, json=_json(body), ok=ok
                    )
                except TransientError:
                    # it may have landed: the prices are not known until read again (a
                    # repeat of this one is sent anyway, the old value must not be skipped)
                    place.prices = None
                    raise
                if response.status_code == 404:
                    self._lose(sku)
                    continue
            if place.prices is not None:  # (None: another write of the SKU failed meanwhile)
                place.prices[pricelist_id] = new
            return "updated"
        raise PermanentError(
            f"{what}: Starweb answered 404 twice, after the SKU was looked up again; retry, "
            "and check the product in Starweb admin if it keeps failing"
        )

    async def _read_prices(self, place: Place, what: str) -> Prices | None:
        """The variant's prices as the shop has them now (``GET …/prices``; None on 404)."""
        path = f"products/{place.product_id}/variants/{place.variant_id}/prices"
        response = await self._call("GET", path, what, ok=(200, 404))
        if response.status_code == 404:
            return None
        rows, _ = decode_list(response.content, PriceWire, what)
        return _prices_in(rows)

    def _lose(self, sku: str) -> None:
        """Forget where ``sku`` is (a write there answered 404): the next write looks again."""
        cache = self._catalog
        if cache.index is not None:
            cache.index.forget(sku)
        cache.looked_up.pop(sku, None)

    def _note_prices(self, located: Located, prices: Prices | None) -> None:
        """Keep the SKU index's prices of a variant :meth:`put_article` writes a price of:
        None (not known: read before the next price write) while its writes are sent, as
        they may fail half-way, then the prices it wrote."""
        sku = _sku(located.variant)
        if sku is None:
            return
        cache = self._catalog
        place = cache.index.place_of(sku) if cache.index is not None else None
        if place is None and sku in cache.looked_up:
            place = cache.looked_up[sku][1]
        if place is None:
            return
        if (place.product_id, place.variant_id) != (
            located.product.product_id,
            located.variant.variant_id,
        ):
            self._lose(sku)  # moved since the index read it
            return
        place.prices = prices

    # -- StockSink ----------------------------------------------------------------------------

    async def put_stock(self, sku: str, quantity: Decimal) -> Written:
        """The variant's level at the e-commerce stock location: one ``PUT`` with both
        required fields (spec, ``ProductVariantStockPutRequestModel``), to the place the SKU
        index holds (``unchanged`` without a request when this adapter already wrote this
        quantity there)."""
        if not quantity.is_finite() or abs(quantity) > MAX_STOCK:
            raise PermanentError(
                f"SKU {sku}: stock quantity {quantity} is outside what Starweb takes "
                f"(-{MAX_STOCK} to {MAX_STOCK}); fix the quantity at the source"
            )
        check_sku(sku)
        for retry in (False, True):
            place = await self._place(sku)
            if place is None:
                raise PermanentError(_missing(sku, self.shop, "stock"))
            if place.written == quantity:
                return "unchanged"
            location = await self._stock_location()
            # the spec requires a stock status with every PUT: keep the merchant's (the
            # variant's, as the index read it), else the standard one for the quantity
            status = place.status or await self._status_for(quantity)
            body = {"stockStatusId": status, "stockQuantity": quantity}
            path = f"products/{place.product_id}/variants/{place.variant_id}/stocks/{location}"
            what = f"SKU {sku}: Starweb stock at location {location}"
            ok = (200,) if retry else (200, 404)
            try:
                response = await self._call("PUT", path, what, json=_json(body), ok=ok)
            except TransientError:
                place.written = None  # it may have landed: no level is known to be there
                raise
            if response.status_code == 200:
                place.written, place.status = quantity, status
                return "updated"
            # the product, variant or location is gone (or the SKU moved): look again, once
            self._lose(sku)
            self._catalog.location = None
        raise AssertionError("unreachable: the retry raises on anything but 200")

    async def _place(self, sku: str) -> Place | None:
        """Where ``sku``'s stock and prices go: from the SKU index (read again when older
        than :data:`INDEX_FRESH`), else found by :meth:`_locate` and remembered. A SKU the
        index does not hold is looked for once (``filterSku``, then the products changed
        since the index's newest, unless that read was just made): a product created since
        is found, and a SKU the shop does not have is None after one refresh.

        Until the index exists, SKUs are looked up one by one (``filterSku``) until that has
        cost as many requests as reading the product list (its page count, one request to
        learn) would: a few changes after a start do not read a large shop's whole list,
        a fan-out of many SKUs reads it once, at most about twice what either way costs."""
        cache = self._catalog
        if cache.index is None:
            found = cache.looked_up.get(sku)
            if found is not None and self._clock.monotonic() - found[0] < INDEX_FRESH:
                return found[1]
            if cache.list_pages is None:
                cache.list_pages = await self._list_pages()
            if cache.lookups < cache.list_pages:
                cache.lookups += 1
                return await self._looked_up(sku)
        built = cache.index is None
        index = await self._index()
        refreshed = built
        if index.read_at is None or self._clock.monotonic() - index.read_at >= INDEX_FRESH:
            await self._refresh(index, full=False)
            refreshed = True
        place = index.place_of(sku)
        if place is not None:
            return place
        place = await self._looked_up(sku, refreshed=refreshed)
        if place is not None:
            index.place(sku, place)
        return place

    async def _looked_up(self, sku: str, *, refreshed: bool = False) -> Place | None:
        """``sku``'s place by :meth:`_locate`; before the index exists it is kept for
        :data:`INDEX_FRESH` seconds."""
        started = self._clock.monotonic()
        located = await self._locate(sku, refreshed=refreshed)
        if located is None or located.variant.variant_id is None:
            return None
        place = Place(
            located.product.product_id,
            located.variant.variant_id,
            located.variant.stock_status_id,
            prices=_prices(located.variant),
        )
        if self._catalog.index is None:
            self._catalog.looked_up[sku] = (started, place)
        else:
            self._catalog.looked_up.clear()  # the index holds the places from now on
        return place

    async def _list_pages(self) -> int:
        """How many pages the product list has (``meta.pagination.total_pages``; 1 when the
        answer has no pagination)."""
        what = f"Starweb shop {self.shop}: the size of the product list"
        response = await self._call("GET", "products", what, params={"page": 1})
        _, pagination = decode_list(response.content, Any, what)
        return 1 if pagination is None else max(1, pagination.total_pages)

    # -- PriceListSink ------------------------------------------------------------------------

    async def put_list_price(self, target_list: str, price: ListPrice) -> Written:
        """``priceExVat`` of the variant in the Starweb price list ``target_list`` (its id,
        name or externalId); its special price is left as it is. One ``PATCH
        …/prices/{pricelistId}`` (``POST …/prices`` where the variant has no price in the
        list yet) to the place the SKU index holds (:meth:`_put_variant_price`)."""
        pricelist = await self._target_list(target_list, price.sku)
        name = pricelist.name or str(pricelist.pricelist_id)
        if price.min_quantity != 1:
            # PARTIAL: volume prices (…/prices/{pricelistId}/volume/{quantity}) are not written
            raise PermanentError(
                f"SKU {price.sku}: a volume price from {price.min_quantity} in price list "
                f"{name}; brygga does not write Starweb volume prices yet (set it in Starweb "
                "admin, or leave volume prices out of the ERP's price list)"
            )
        if pricelist.currency_code and pricelist.currency_code != price.currency:
            raise PermanentError(
                f"SKU {price.sku}: price list {name} is in {pricelist.currency_code}, the "
                f"price in {price.currency}; map the ERP price list to a Starweb price list "
                "in the same currency"
            )
        check_sku(price.sku)
        return await self._put_variant_price(
            price.sku,
            pricelist.pricelist_id,
            price.price,
            None,
            what=f"SKU {price.sku}: Starweb price in price list {name}",
            register=f"price in price list {name}",
            keep_special=True,
        )


def _value_named(values: list[AttributeValueWire], name: str) -> int | None:
    for value in values:
        if value.attribute_value_id is not None and any(same_name(n, name) for n in value.names):
            return value.attribute_value_id
    return None


def _missing(sku: str, shop: str, what: str) -> str:
    return (
        f"SKU {sku}: Starweb shop {shop} has no product or variant with this SKU, so its "
        f"{what} cannot be set; create the article there (or let the products flow create "
        "it), or correct the article number at the source"
    )


def _sku(variant: VariantWire) -> str | None:
    return (variant.sku or "").strip() or None


def _prices(variant: VariantWire) -> Prices | None:
    """The variant's prices by price list, as read (None: they were not included)."""
    return None if variant.prices is None else _prices_in(included(variant.prices))


def _prices_in(rows: list[PriceWire]) -> Prices:
    return {
        p.pricelist_id: (p.price_ex_vat, p.special_price_ex_vat)
        for p in rows
        if p.price_ex_vat is not None
    }


def _no_sku(product: ProductWire, variant: VariantWire) -> str:
    where = f"Starweb product {product.product_id}"
    if variant.variant_id is not None:
        where += f", variant {variant.variant_id}"
    return (
        f"{where} has no SKU, so it cannot be matched with an article; give the variant an "
        "SKU (article number) in Starweb admin"
    )
