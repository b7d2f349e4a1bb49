"""The small per-register protocols adapters implement, and the registers each one provides."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal, NamedTuple, Protocol, runtime_checkable

from brygga.catalog import Article, ArticleChange, ListPrice, StockLevel
from brygga.documents import Document
from brygga.models import (
    Customer,
    DocumentRef,
    DocumentState,
    DocumentType,
    Order,
    OrderChange,
    Register,
)

__all__ = [
    "PROVIDES",
    "CurrencyPrices",
    "Direction",
    "DocumentSink",
    "ExportMark",
    "OrderSource",
    "PriceListSink",
    "PriceListSource",
    "PriceSink",
    "ProductSink",
    "ProductSource",
    "Registers",
    "StatusSink",
    "StatusSource",
    "StockSink",
    "StockSource",
    "Written",
    "protocols_for",
    "protocols_of",
    "registers_of",
]

#: ``reads``: the adapter's system can be a register's source; ``writes``: its target
Direction = Literal["reads", "writes"]


@runtime_checkable
class OrderSource(Protocol):
    """A shop's orders: a feed of changed orders and each order in full."""

    def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        """Yield orders modified in ``[since, until)`` (aware UTC), in (modified_at, id) order.

        May yield an order more than once (drifting pages); callers dedupe. Implement it as an
        ``async def`` generator.
        """
        ...

    async def fetch_order(self, shop_order_id: str) -> Order:
        """The full order with lines and customer. Raises PermanentError when the shop's data
        cannot be mapped (the message names the order and the field)."""
        ...


@runtime_checkable
class ExportMark(Protocol):
    """A shop that notes on an order which ERP document it became (the orders flow's
    write-back)."""

    async def mark_exported(self, shop_order_id: str, document: DocumentRef) -> None:
        """Record the ERP document number on the shop order (idempotent)."""
        ...


@runtime_checkable
class StatusSink(Protocol):
    """A shop that takes order statuses from the ERP (delivered, cancelled, …)."""

    async def order_statuses(self) -> Sequence[str]:
        """The order statuses the shop has, read from the shop: the codes a
        ``[connection.status]`` rule may name as ``shop_status``."""
        ...

    async def set_status(
        self,
        shop_order_id: str,
        status_id_code: str,
        *,
        email: bool,
        capture: bool,
        tracking_number: str = "",
        carrier: str = "",
    ) -> bool:
        """Give the order the shop status ``status_id_code`` (what a ``[connection.status]``
        rule names as ``shop_status``). ``email``: the shop tells the customer; ``capture``:
        the shop captures the reserved payment; both set explicitly for this change only,
        never left to the shop's default. Idempotent: reads the order first and writes
        nothing when it already has the status and tracking number (False; True when it
        wrote). Raises PermanentError for a status the shop does not have."""
        ...


@runtime_checkable
class StatusSource(Protocol):
    """An ERP that tells what became of the documents brygga created for shop orders
    (invoiced, delivered, paid, cancelled; ``Capabilities.status_events`` says which)."""

    async def document_states(self, documents: Sequence[DocumentRef]) -> list[DocumentState]:
        """The state of each document, matched by its reference (``DocumentRef`` carries the
        number and booked flag brygga last saw). Only conclusive answers: a document the ERP
        could not be asked about is left out (asked again later), and one is ``cancelled``
        only when the ERP surely no longer has it and never booked it. Raises
        TransientError when the ERP cannot be read."""
        ...


@runtime_checkable
class DocumentSink(Protocol):
    """An ERP that takes orders as documents (invoices or orders) for its customers."""

    async def find_customer(self, customer: Customer, match_on: Sequence[str]) -> str | None:
        """The ERP customer number of the first match, trying ``match_on`` keys in order
        (``customer_number``, ``email``, ``org_number``); None when nothing matches."""
        ...

    async def create_customer(self, customer: Customer, currency: str) -> str:
        """Create the customer; return its ERP customer number."""
        ...

    async def find_document(
        self, reference: str, document_type: DocumentType
    ) -> DocumentRef | None:
        """The document created with this external reference, or None."""
        ...

    async def create_document(self, document: Document) -> DocumentRef:
        """Create (and book, when ``document.book``) the document. Raises PermanentError for
        unknown articles or VAT rates, naming the order, the row and the fix."""
        ...


#: what a catalog write did: ``unchanged`` when the target already held the same values
Written = Literal["created", "updated", "unchanged", "skipped"]


@runtime_checkable
class ProductSource(Protocol):
    """A system whose articles (products and variants, with their prices) can be read."""

    def changed_articles(self, since: datetime, until: datetime) -> AsyncIterator[ArticleChange]:
        """Yield articles modified in ``[since, until)`` (aware UTC), one per SKU (a variant
        is its own article). May repeat an SKU; callers dedupe. An ``async def`` generator."""
        ...

    async def fetch_article(self, sku: str) -> Article | None:
        """The article in full, or None when no article has this SKU any more."""
        ...

    def all_articles(self) -> AsyncIterator[Article]:
        """Every article, streamed page by page (the initial sync); an ``async def``
        generator that holds at most one page in memory."""
        ...


@runtime_checkable
class CurrencyPrices(Protocol):
    """A product source that keeps sales prices in other currencies than the one its articles
    carry (e-conomic: currency-specific sales prices besides ``salesPrice`` in the base
    currency). Optional: the products and prices registers ask it for a shop whose catalog
    currency differs; a source without it cannot price such a shop (an error record)."""

    async def price_in(self, sku: str, currency: str) -> Decimal | None:
        """The article's ordinary sales price (excl. VAT) in ``currency`` as the source keeps
        it, never converted; None when the source has no price in that currency for it."""
        ...


@runtime_checkable
class ProductSink(Protocol):
    """A system that takes articles: creates missing ones and updates existing ones, matched
    on SKU (article number)."""

    async def put_article(self, article: Article, *, create: bool, update: bool) -> Written:
        """Create the article when missing (if ``create``), update it when it differs (if
        ``update``); ``skipped`` when the switch for the case is off. Raises PermanentError for
        data the system refuses (names the SKU, the field and the fix)."""
        ...


@runtime_checkable
class PriceSink(Protocol):
    """A system whose articles' prices can be set on their own (prices mastered elsewhere
    than products)."""

    async def put_price(
        self, sku: str, currency: str, price: Decimal, campaign_price: Decimal | None
    ) -> Written:
        """Set the ordinary (and campaign) price, excluding VAT, of an existing article."""
        ...


@runtime_checkable
class StockSource(Protocol):
    """A system whose stock levels can be read (the stock master)."""

    def changed_stock(self, since: datetime, until: datetime) -> AsyncIterator[StockLevel]:
        """Yield the levels of SKUs whose stock changed in ``[since, until)``; an ``async
        def`` generator. May repeat an SKU; callers keep the last."""
        ...

    async def stock_of(self, sku: str) -> StockLevel | None:
        """The SKU's current level, or None when the system has no such article."""
        ...


@runtime_checkable
class StockSink(Protocol):
    """A system that takes stock levels (a shop)."""

    async def put_stock(self, sku: str, quantity: Decimal) -> Written:
        """Set the quantity the shop may sell of ``sku`` (``unchanged`` when it already
        has it). Raises PermanentError when the shop has no article with this SKU."""
        ...


@runtime_checkable
class PriceListSource(Protocol):
    """A system with customer-group price lists (an ERP)."""

    def changed_list_prices(self, since: datetime, until: datetime) -> AsyncIterator[ListPrice]:
        """Yield price-list prices changed in ``[since, until)``; an ``async def`` generator."""
        ...


@runtime_checkable
class PriceListSink(Protocol):
    """A system that takes customer-group price lists (a shop)."""

    async def put_list_price(self, target_list: str, price: ListPrice) -> Written:
        """Set ``price`` in the system's price list ``target_list`` (the connection's
        configuration maps source lists to target lists)."""
        ...


#: The one place that says which register each protocol provides, and which way. A protocol
#: cannot carry this itself: every attribute of a Protocol is a member implementers must have.
#: ExportMark provides no register of its own: it is the orders flow's write-back, and every
#: shop adapter has it (``ShopAdapter``). CurrencyPrices neither: it refines a ProductSource.
PROVIDES: dict[type, tuple[tuple[Register, Direction], ...]] = {
    OrderSource: ((Register.ORDERS, "reads"),),
    ExportMark: (),
    CurrencyPrices: (),
    StatusSink: ((Register.STATUS, "writes"),),
    StatusSource: ((Register.STATUS, "reads"),),
    DocumentSink: ((Register.ORDERS, "writes"),),
    ProductSource: ((Register.PRODUCTS, "reads"), (Register.PRICES, "reads")),
    ProductSink: ((Register.PRODUCTS, "writes"),),
    PriceSink: ((Register.PRICES, "writes"),),
    StockSource: ((Register.STOCK, "reads"),),
    StockSink: ((Register.STOCK, "writes"),),
    PriceListSource: ((Register.PRICE_LISTS, "reads"),),
    PriceListSink: ((Register.PRICE_LISTS, "writes"),),
}


class Registers(NamedTuple):
    """What an adapter class can be the source (``reads``) and target (``writes``) of."""

    reads: frozenset[Register]
    writes: frozenset[Register]


def protocols_of(adapter: type) -> tuple[type, ...]:
    """The per-register protocols ``adapter`` implements (by its methods: declaring them as
    base classes is optional, but lets mypy check the signatures)."""
    return tuple(protocol for protocol in PROVIDES if issubclass(adapter, protocol))


def registers_of(adapter: type) -> Registers:
    """What ``adapter`` reads and writes, derived from the protocols it implements."""
    provided = [pair for protocol in protocols_of(adapter) for pair in PROVIDES[protocol]]
    return Registers(
        reads=frozenset(r for r, direction in provided if direction == "reads"),
        writes=frozenset(r for r, direction in provided if direction == "writes"),
    )


def protocols_for(register: Register, direction: Direction) -> tuple[type, ...]:
    """The protocols an adapter implements to read or write ``register`` (none yet for the
    registers this version does not run)."""
    return tuple(p for p, pairs in PROVIDES.items() if (register, direction) in pairs)
