"""The products and prices registers: articles from their master side to the other side.

Products: each changed article (a variant is its own article, matched on SKU) is read from its
source and put to every target (create and/or update, as configured). Prices go with the
products when both are mastered on the same side; when prices are mastered on the other side
(``combo``: products from the shop, prices from the ERP), the products carry no prices and the
prices register sets them on their own (``PriceSink``).

Changed-only and echo suppression: the claim carries the fingerprint of what was last written
for the item (register, target, SKU); an article whose content is the same costs no write. A
value the daemon wrote that comes back through a change feed (the shop reports an article
changed because its prices were just written) fingerprints the same, so it is not sent again.

A shop with its own catalog currency (``[connection.catalog.shops.<shop>] currency``) gets the
article's price in that currency as the source keeps it (``CurrencyPrices``: e-conomic's
currency-specific sales prices), never a converted one; an article the source has no price for
in that currency is an error record naming the SKU, the currency and the fix. The campaign
price is not carried into another currency (no source keeps one per currency; partial). The
initial sync (``brygga sync products``, sync/initial_sync.py) applies the same rule with
:func:`priced_for`.

The connection's fee articles (``[connection.orders] fee_articles``: freight, handling fee,
discount, rounding, in each VAT form the ERP adapters use, e.g. ``fraktavg-12``) are articles no
shop sells: from the ERP to the shops (``order_only``, set by sync/catalog_plan.py when the
register is mastered by the ERP) their items are skipped with a sentence naming the article's
role, before anything is read or written; the initial sync skips them the same way. From the
shops to the ERP nothing is skipped (the ERP needs those articles).

Plugins' field mappings (:mod:`brygga.mappings`) run in each handler at one place, between
the read (priced in the target's currency) and the fingerprint: the products mappings on the
article (:func:`map_article`; the prices mappings after them when the prices go with the
products, their price fields kept), the prices mappings on the article in the prices flow. The
fingerprint is of the mapped article, so a mapping that changes a name is no echo: the same
source article maps to the same fingerprint and costs no second write. The initial sync runs
:func:`map_article` too, so it writes what the daemon would.

A price the target refuses because it lacks the article (in ``combo`` the shop's products are
its own; the ERP keeps articles no shop sells, e.g. services) makes the item skipped, not an
error record, when the target can read its articles and says it has no such SKU.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec

from brygga.catalog import Article, ArticleChange
from brygga.clock import Clock
from brygga.errors import NothingToDo, PermanentError
from brygga.mappings import Mapping as FieldMapping
from brygga.mappings import MappingContext, apply_mappings
from brygga.models import Register
from brygga.registers import CurrencyPrices, DocumentSink, PriceSink, ProductSink, ProductSource
from brygga.store import Health, Outcome, Reads, Store, WorkItem
from brygga.sync.article_wait import CreatedHere, with_follow_ups
from brygga.sync.catalog_feed import CatalogFeed
from brygga.sync.catalog_items import (
    OrderOnly,
    article_hash,
    content_hash,
    lacks_article,
    payload_of,
    plain,
    refuse_blank,
    sku_record,
)
from brygga.sync.flow import PlanRow

__all__ = [
    "PricesHandler",
    "ProductsHandler",
    "article_row",
    "catalog_feed",
    "fetch_article",
    "map_article",
    "priced_for",
]

#: a target's protocol: ``ProductSink`` or ``PriceSink``
S = TypeVar("S")


async def fetch_article(source: ProductSource, sku: str, register: str, name: str) -> Article:
    """The article from its source; data it cannot hold (a negative price, a VAT rate out of
    range) is an error record naming the SKU and the fix, never a stopped flow."""
    try:
        found = await source.fetch_article(sku)
    except (ValueError, msgspec.ValidationError) as exc:
        raise PermanentError(
            f"{register} {sku}: {name} has data brygga cannot take ({exc}); correct the "
            f"article in {name}; its next change sends it again"
        ) from exc
    if found is None:
        raise NothingToDo(
            f"{register} {sku}: {name} has no article {sku} any more; the other side keeps it"
        )
    return found


async def priced_for(
    source: ProductSource,
    article: Article,
    currency: str | None,
    *,
    name: str,
    target: str,
    register: str,
    again: str = "retry this record",
) -> Article:
    """``article`` with its price in ``currency``, the target shop's catalog currency (None:
    as the source gives it). The price is the source's own in that currency, never converted:
    an article without one is an error record naming the SKU, the currency and the fix
    (``again``: how to send it again once fixed). An article already in ``currency`` costs no
    request. Shared with the initial sync (sync/initial_sync.py)."""
    if currency is None or article.price is None or article.currency == currency:
        return article
    key = f"[connection.catalog.shops.{target}] currency"
    if not isinstance(source, CurrencyPrices):
        raise PermanentError(
            f"{register} {article.sku}: {target} takes {currency} prices ({key}) but {name} gives "
            f"prices in {article.currency} only, and brygga does not convert prices; set the "
            f"shop's currency to {article.currency}, or remove the key"
        )
    price = await source.price_in(article.sku, currency)
    if price is None:
        raise PermanentError(
            f"{register} {article.sku}: {name} has no {currency} price for article {article.sku}, "
            f"and {target} takes {currency} prices ({key}); brygga does not convert prices. Set "
            f"a {currency} sales price on product {article.sku} in {name} (in e-conomic: a "
            f"currency-specific sales price), then {again}"
        )
    return msgspec.structs.replace(article, currency=currency, price=price, campaign_price=None)


def map_article(
    article: Article,
    mappings: Sequence[FieldMapping],
    context: MappingContext,
    *,
    with_prices: bool,
    notes: list[str] | None = None,
) -> Article:
    """``article`` through the products mappings and, when it carries its prices
    (``with_prices``), the prices mappings, of which only the price fields (``price``,
    ``campaign_price``, ``currency``) are kept. A Skip in a products mapping skips the article
    (NothingToDo); a Skip in a prices mapping skips its prices only: the article goes without
    them (the target keeps its own), and the sentence is added to ``notes``. ``context`` names
    the source, the target and the connection (its register is set here). Shared by the
    products handler and the initial sync, so both write the same."""
    sku, target = article.sku, context.target
    products = dataclasses.replace(context, register=Register.PRODUCTS)
    mapped = apply_mappings(article, mappings, products, record=f"product {sku} for {target}")
    if not with_prices or mapped.price is None:
        return mapped
    prices = dataclasses.replace(context, register=Register.PRICES)
    try:
        priced = apply_mappings(mapped, mappings, prices, record=f"price {sku} for {target}")
    except NothingToDo as skip:
        if notes is not None:
            notes.append(f"price {skip}")
        return msgspec.structs.replace(mapped, price=None, campaign_price=None)
    if priced is mapped:
        return mapped
    return msgspec.structs.replace(
        mapped,
        price=priced.price,
        campaign_price=priced.campaign_price,
        currency=priced.currency,
    )


def catalog_context(
    connection: str,
    register: Register,
    *,
    source_name: str,
    source: object,
    target: str,
    erp_name: str = "",
) -> MappingContext:
    """The mapping context of a catalog record from ``source_name`` to ``target``; the ERP is
    ``erp_name``, or (not given) the side that takes documents."""
    if not erp_name:
        erp_name = source_name if isinstance(source, DocumentSink) else target
    return MappingContext.between(
        connection, register, source=source_name, target=target, erp=erp_name
    )


async def _read(
    sources: Mapping[str, ProductSource],
    sinks: Mapping[str, S],
    item: WorkItem,
    register: str,
    currencies: Mapping[str, str],
) -> tuple[str, S, Article]:
    """The item's source name, its target and the article as the source has it now, priced
    in the target's catalog currency; a source or target no longer in the config is an error
    record."""
    name = payload_of(item).source
    refuse_blank(item, name)
    source = sources.get(name)
    if source is None:
        raise PermanentError(
            f"{item.register} {item.external_id}: {name!r} is no longer a source of "
            f"{item.register} in this connection's config; resolve the record"
        )
    sink = sinks.get(item.instance)
    if sink is None:
        raise PermanentError(
            f"{item.register} {item.external_id}: {item.instance!r} is no longer a target of "
            f"{item.register} in this connection's config; resolve the record"
        )
    article = await fetch_article(source, item.external_id, register, name)
    currency = currencies.get(item.instance)
    return (
        name,
        sink,
        await priced_for(
            source, article, currency, name=name, target=item.instance, register=register
        ),
    )


@dataclass
class ProductsHandler:
    """Puts one article to one target (the item's instance), created and/or updated."""

    connection: str
    sources: Mapping[str, ProductSource]
    sinks: Mapping[str, ProductSink]
    create: bool = True
    update: bool = True
    #: False when prices are mastered on the other side: the article goes without them
    with_prices: bool = True
    #: target → the currency its catalog prices are in (targets not named: the source's)
    currencies: Mapping[str, str] = field(default_factory=dict)
    #: SKUs never put in a target (the fee articles, when the ERP is the source)
    order_only: OrderOnly = field(default_factory=OrderOnly)
    #: the plugins' products (and prices) mappings, run on each article before it is written
    mappings: Sequence[FieldMapping] = ()
    #: the connection's ERP instance ("": the source or target that takes documents)
    erp_name: str = ""
    #: the registers whose item of an article this handler created is queued at once
    #: (stock; sync/article_wait.py); None: none
    created: CreatedHere | None = None
    register: str = Register.PRODUCTS.value

    @property
    def reads(self) -> Reads:
        return Reads(written=True)

    async def handle(self, item: WorkItem) -> Outcome:
        self.order_only.skip("product", item.external_id, item.instance)
        currencies = self.currencies if self.with_prices else {}
        name, sink, article = await _read(self.sources, self.sinks, item, self.register, currencies)
        if not self.with_prices:  # None: the target keeps its own prices
            article = msgspec.structs.replace(article, price=None, campaign_price=None)
        context = catalog_context(
            self.connection,
            Register.PRODUCTS,
            source_name=name,
            source=self.sources[name],
            target=item.instance,
            erp_name=self.erp_name,
        )
        # the one place the products flow maps: fingerprinted after, so no echo
        notes: list[str] = []
        article = map_article(
            article, self.mappings, context, with_prices=self.with_prices, notes=notes
        )
        digest = article_hash(article)
        if digest == item.written:
            return _unchanged(self.register)
        written = await sink.put_article(article, create=self.create, update=self.update)
        if written == "skipped":
            raise NothingToDo(
                f"product {item.external_id} not written to {item.instance}: creating or "
                "updating articles is switched off ([connection.catalog] create / update)"
            )
        note = "; ".join((f"from {name}", *notes))
        outcome = _written(self.register, written, item.instance, digest, note)
        if written != "created":
            return outcome
        # the level (stock) of an article just created follows at once, not with its next change
        return with_follow_ups(outcome, self.created, item.instance, item.external_id, name)


@dataclass
class PricesHandler:
    """Sets one article's ordinary and campaign price in one target (prices mastered on the
    other side than products)."""

    connection: str
    sources: Mapping[str, ProductSource]
    sinks: Mapping[str, PriceSink]
    #: target → the currency its catalog prices are in (targets not named: the source's)
    currencies: Mapping[str, str] = field(default_factory=dict)
    #: SKUs never priced in a target (the fee articles, when the ERP is the source)
    order_only: OrderOnly = field(default_factory=OrderOnly)
    #: the plugins' prices mappings, run on each article before its price is written
    mappings: Sequence[FieldMapping] = ()
    #: the connection's ERP instance ("": the source or target that takes documents)
    erp_name: str = ""
    register: str = Register.PRICES.value

    @property
    def reads(self) -> Reads:
        return Reads(written=True)

    async def handle(self, item: WorkItem) -> Outcome:
        self.order_only.skip("price", item.external_id, item.instance)
        name, sink, article = await _read(
            self.sources, self.sinks, item, self.register, self.currencies
        )
        context = catalog_context(
            self.connection,
            Register.PRICES,
            source_name=name,
            source=self.sources[name],
            target=item.instance,
            erp_name=self.erp_name,
        )
        # the one place the prices flow maps: fingerprinted after, so no echo
        article = apply_mappings(
            article, self.mappings, context, record=f"price {article.sku} for {item.instance}"
        )
        if article.price is None:
            raise NothingToDo(f"price {item.external_id}: {name} gives the article no price")
        parts = ("price", article.currency, article.price, article.campaign_price)
        digest = content_hash(parts)
        if digest == item.written:
            return _unchanged(self.register)
        try:
            written = await sink.put_price(
                article.sku, article.currency, article.price, article.campaign_price
            )
        except PermanentError:
            if await lacks_article(sink, article.sku):
                raise NothingToDo(
                    f"price {article.sku}: {item.instance} has no article {article.sku}, so it "
                    f"takes no price for it (products come from there; {name} keeps articles "
                    "it does not sell, e.g. fees); the next price change looks again"
                ) from None
            raise
        campaign = f", campaign {plain(article.campaign_price)}" if article.campaign_price else ""
        note = f"{plain(article.price)} {article.currency}{campaign} from {name}"
        return _written(self.register, written, item.instance, digest, note)


def _unchanged(register: str) -> Outcome:
    return Outcome(state="done", result="unchanged", health=Health(register, ok=True))


def _written(register: str, written: str, target: str, digest: str, note: str) -> Outcome:
    return Outcome(
        state="done",
        result=written,
        written=digest,
        events=(("written", f"{written} in {target} ({note})"),),
        health=Health(register, ok=True),
    )


def catalog_feed(
    *,
    connection: str,
    register: str,
    store: Store,
    clock: Clock,
    sources: Mapping[str, ProductSource],
    targets: list[str],
    interval: float,
    lookback: float,
    overlap: float,
) -> CatalogFeed[ArticleChange]:
    """The article change feeds of ``sources``, one item per target and SKU."""
    return CatalogFeed[ArticleChange](
        connection=connection,
        register=register,
        store=store,
        clock=clock,
        feeds={name: source.changed_articles for name, source in sources.items()},
        targets=targets,
        record=sku_record,
        interval=interval,
        lookback=lookback,
        overlap=overlap,
    )


def article_row(
    handler: ProductsHandler | PricesHandler, feed: CatalogFeed[ArticleChange], workers: int
) -> PlanRow:
    """A products or prices row: the feed and the handler."""
    return PlanRow(handlers=(handler,), discoverers=(feed,), workers={handler.register: workers})
