"""The catalog rows of a connection's plan (stock, products, prices, price lists), from its sides.

Wiring builds the sides from the config; tests build them from fake adapters. A register whose
master is ``off`` (or that this version does not run) gets no row. A register that goes from the
ERP to the shops skips the connection's fee articles (``CatalogSides.orders``' ``fee_articles``
in every VAT form, :class:`~brygga.sync.catalog_items.OrderOnly`): articles for order rows that
no shop offers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from brygga.clock import Clock
from brygga.config import CatalogConfig, OrdersConfig, PollConfig
from brygga.mappings import Mapping as FieldMapping
from brygga.mappings import of_register
from brygga.models import Register
from brygga.registers import (
    OrderSource,
    PriceListSink,
    PriceListSource,
    PriceSink,
    ProductSink,
    ProductSource,
    StockSink,
    StockSource,
)
from brygga.store import Store
from brygga.sync.article_wait import CreatedHere
from brygga.sync.catalog_items import OrderOnly
from brygga.sync.flow import PlanRow
from brygga.sync.price_lists import PriceListsHandler, price_lists_plan
from brygga.sync.products import PricesHandler, ProductsHandler, article_row, catalog_feed
from brygga.sync.stock import StockHandler, stock_plan

__all__ = ["CATALOG_ROWS", "CatalogSides", "catalog_rows"]


@dataclass(frozen=True)
class CatalogSides:
    """One connection's systems and settings, as the catalog registers need them."""

    connection: str
    erp_name: str
    erp: object
    shops: Mapping[str, object]
    #: register → where it is mastered: ``erp``, ``shop`` or ``off``
    masters: Mapping[Register, str]
    store: Store
    clock: Clock
    settings: CatalogConfig = field(default_factory=CatalogConfig)
    poll: PollConfig = field(default_factory=PollConfig)
    #: ``prices = "off"`` in ``[connection.registers]``: no prices are written at all
    prices_turned_off: bool = False
    #: ``[connection.orders]``: its ``fee_articles`` (in each VAT form of its ``vat_rates``)
    #: never go from the ERP to a shop
    orders: OrdersConfig = field(default_factory=OrdersConfig)
    #: the plugins' field mappings (each register's handler keeps its own)
    mappings: Sequence[FieldMapping] = ()

    def master(self, register: Register) -> str:
        return self.masters.get(register, "off")

    def sides(self, register: Register) -> tuple[dict[str, object], dict[str, object]]:
        """(sources, targets) of ``register`` by instance name: the ERP or the shops."""
        erp = {self.erp_name: self.erp}
        shops = dict(self.shops)
        return (erp, shops) if self.master(register) == "erp" else (shops, erp)

    @property
    def prices_with_products(self) -> bool:
        """The products carry their prices: unless prices are mastered on the other side
        (``combo``) or turned off in ``[connection.registers]`` (``ecom`` has no prices
        register of its own: the shop's products go with their prices)."""
        products, prices = self.master(Register.PRODUCTS), self.master(Register.PRICES)
        if products == "off" or self.prices_turned_off:
            return False
        return prices in (products, "off")

    @property
    def fee_articles(self) -> OrderOnly:
        """The connection's order-only articles (fee articles in every VAT form)."""
        return OrderOnly.of_orders(self.orders)

    def order_only(self, register: Register) -> OrderOnly:
        """What ``register`` never puts in a target: the fee articles when it goes from the ERP
        to the shops; nothing the other way (the ERP needs them)."""
        return self.fee_articles if self.master(register) == "erp" else OrderOnly()

    def currencies(self, register: Register) -> dict[str, str]:
        """Target shop → its catalog currency (``[connection.catalog.shops.<shop>] currency``)
        when ``register`` goes from the ERP to the shops; empty the other way (the ERP keeps
        its own currency)."""
        if self.master(register) != "erp":
            return {}
        return {
            name: currency
            for name in self.shops
            if (currency := self.settings.shop(name).currency) is not None
        }

    def created_here(self) -> CreatedHere | None:
        """Where the products flow creates the ERP's articles, for the stock and price-list
        flows from the same ERP to wait for an article a shop lacks *yet* (and the products
        handler to queue the level of an article it created): products from the ERP, creating
        on; None otherwise (a write for an SKU a shop lacks is skipped or fails as before)."""
        erp = self.erp
        if not self.settings.create or self.master(Register.PRODUCTS) != "erp":
            return None
        if not isinstance(erp, ProductSource):
            return None
        targets = frozenset(n for n, shop in self.shops.items() if isinstance(shop, ProductSink))
        stock = self.master(Register.STOCK) == "erp" and isinstance(erp, StockSource)
        return CreatedHere(
            source_name=self.erp_name,
            source=erp,
            targets=targets,
            order_only=self.order_only(Register.PRODUCTS),
            stock_targets=frozenset(
                n for n in targets if stock and isinstance(self.shops[n], StockSink)
            ),
        )

    def feed_options(self, register: Register) -> dict[str, float]:
        return {
            "interval": float(getattr(self.poll, register.value)),
            "lookback": float(self.settings.lookback),
            "overlap": float(self.settings.overlap),
        }


def _stock(sides: CatalogSides) -> PlanRow | None:
    if sides.master(Register.STOCK) != "erp" or not isinstance(sides.erp, StockSource):
        return None
    sinks = {name: shop for name, shop in sides.shops.items() if isinstance(shop, StockSink)}
    handler = StockHandler(
        connection=sides.connection,
        source_name=sides.erp_name,
        source=sides.erp,
        sinks=sinks,
        shops={n: s for n, s in sides.shops.items() if isinstance(s, OrderSource)},
        clock=sides.clock,
        buffers={
            name: sides.settings.shop(name).stock_buffer
            for name in sinks
            if sides.settings.shop(name).stock_buffer > Decimal(0)
        },
        order_only=sides.order_only(Register.STOCK),
        created=sides.created_here(),
        mappings=of_register(sides.mappings, Register.STOCK),
    )
    return stock_plan(
        handler=handler,
        store=sides.store,
        workers=sides.settings.workers,
        **sides.feed_options(Register.STOCK),
    )


def _product_sources(found: Mapping[str, object]) -> dict[str, ProductSource]:
    return {name: side for name, side in found.items() if isinstance(side, ProductSource)}


def _products(sides: CatalogSides) -> PlanRow | None:
    if sides.master(Register.PRODUCTS) == "off":
        return None
    found, targets = sides.sides(Register.PRODUCTS)
    sources = _product_sources(found)
    sinks = {name: side for name, side in targets.items() if isinstance(side, ProductSink)}
    handler = ProductsHandler(
        connection=sides.connection,
        sources=sources,
        sinks=sinks,
        create=sides.settings.create,
        update=sides.settings.update,
        with_prices=sides.prices_with_products,
        currencies=sides.currencies(Register.PRODUCTS),
        order_only=sides.order_only(Register.PRODUCTS),
        created=sides.created_here(),
        mappings=of_register(sides.mappings, Register.PRODUCTS, Register.PRICES),
        erp_name=sides.erp_name,
    )
    return _article_row(sides, Register.PRODUCTS, handler, sources, list(sinks))


def _prices(sides: CatalogSides) -> PlanRow | None:
    prices = sides.master(Register.PRICES)
    if prices == "off" or prices == sides.master(Register.PRODUCTS):
        return None  # none, or they go with the products
    found, targets = sides.sides(Register.PRICES)
    sources = _product_sources(found)
    sinks = {name: side for name, side in targets.items() if isinstance(side, PriceSink)}
    handler = PricesHandler(
        connection=sides.connection,
        sources=sources,
        sinks=sinks,
        currencies=sides.currencies(Register.PRICES),
        order_only=sides.order_only(Register.PRICES),
        mappings=of_register(sides.mappings, Register.PRICES),
        erp_name=sides.erp_name,
    )
    return _article_row(sides, Register.PRICES, handler, sources, list(sinks))


def _article_row(
    sides: CatalogSides,
    register: Register,
    handler: ProductsHandler | PricesHandler,
    sources: Mapping[str, ProductSource],
    targets: list[str],
) -> PlanRow | None:
    if not sources or not targets:
        return None
    feed = catalog_feed(
        connection=sides.connection,
        register=register.value,
        store=sides.store,
        clock=sides.clock,
        sources=sources,
        targets=targets,
        **sides.feed_options(register),
    )
    return article_row(handler, feed, sides.settings.workers)


def _price_lists(sides: CatalogSides) -> PlanRow | None:
    erp = sides.erp
    if sides.master(Register.PRICE_LISTS) != "erp" or not isinstance(erp, PriceListSource):
        return None
    sinks = {name: shop for name, shop in sides.shops.items() if isinstance(shop, PriceListSink)}
    handler = PriceListsHandler(
        connection=sides.connection,
        sinks=sinks,
        mapping={name: dict(sides.settings.shop(name).price_lists) for name in sinks},
        order_only=sides.order_only(Register.PRICE_LISTS),
        mappings=of_register(sides.mappings, Register.PRICE_LISTS),
        created=sides.created_here(),
        clock=sides.clock,
    )
    return price_lists_plan(
        handler=handler,
        source_name=sides.erp_name,
        source=erp,
        store=sides.store,
        clock=sides.clock,
        workers=sides.settings.workers,
        **sides.feed_options(Register.PRICE_LISTS),
    )


#: one builder per catalog register
CATALOG_ROWS: dict[Register, Callable[[CatalogSides], PlanRow | None]] = {
    Register.PRODUCTS: _products,
    Register.PRICES: _prices,
    Register.PRICE_LISTS: _price_lists,
    Register.STOCK: _stock,
}


def catalog_rows(sides: CatalogSides) -> list[PlanRow]:
    """The rows of every catalog register that runs for these sides."""
    rows = (build(sides) for build in CATALOG_ROWS.values())
    return [row for row in rows if row is not None]
