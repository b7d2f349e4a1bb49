"""Small in-memory shop and ERP adapters implementing the catalog protocols, and a flow over them.

Fakes, not mocks: each keeps its own state (articles, levels, orders, documents) and records
what was written to it, so a test asserts on what a shop would show.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import msgspec

from brygga.catalog import Article, ArticleChange, ListPrice, StockLevel
from brygga.clock import FakeClock
from brygga.config import CatalogConfig, OrdersConfig, PollConfig
from brygga.documents import Document
from brygga.durations import Duration
from brygga.errors import PermanentError
from brygga.models import (
    Customer,
    DocumentRef,
    DocumentType,
    Order,
    OrderChange,
    OrderLine,
    Register,
)
from brygga.registers import Written
from brygga.store import Store
from brygga.sync.catalog_plan import CatalogSides, catalog_rows
from brygga.sync.engine import Engine
from brygga.sync.flow import Flow, PlanRow
from brygga.sync.orders import OrdersHandler, orders_plan

__all__ = ["FakeErp", "FakeShop", "article", "catalog_flow", "drain", "poll"]


@dataclass
class _Articles:
    """Articles by SKU with their change times, a feed over them, and the writes they took."""

    clock: FakeClock
    articles: dict[str, Article] = field(default_factory=dict)
    changed: dict[str, datetime] = field(default_factory=dict)
    writes: list[Article] = field(default_factory=list)
    #: SKU → what reading it raises (data the adapter cannot map)
    broken: dict[str, Exception] = field(default_factory=dict)

    def set(self, article: Article) -> None:
        self.articles[article.sku] = article
        self.changed[article.sku] = self.clock.now()

    def touch(self, sku: str) -> None:
        """The article's change time moves, its content does not."""
        self.changed[sku] = self.clock.now()

    async def changed_articles(
        self, since: datetime, until: datetime
    ) -> AsyncIterator[ArticleChange]:
        for sku, when in sorted(self.changed.items(), key=lambda kv: kv[1]):
            if since <= when < until:
                yield ArticleChange(sku=sku, modified_at=when)

    async def fetch_article(self, sku: str) -> Article | None:
        if sku in self.broken:
            raise self.broken[sku]
        return self.articles.get(sku)

    async def all_articles(self) -> AsyncIterator[Article]:
        for article in list(self.articles.values()):
            yield article

    async def put_article(self, article: Article, *, create: bool, update: bool) -> Written:
        current = self.articles.get(article.sku)
        if (current is None and not create) or (current is not None and not update):
            return "skipped"
        if current is not None:  # None: the target keeps its value
            keep = {
                "price": article.price if article.price is not None else current.price,
                "campaign_price": (
                    article.campaign_price if article.price is not None else current.campaign_price
                ),
            }
            article = _replace(article, **keep)
        self.writes.append(article)
        self.set(article)
        return "created" if current is None else "updated"

    async def put_price(
        self, sku: str, currency: str, price: Decimal, campaign_price: Decimal | None
    ) -> Written:
        current = self.articles.get(sku)
        if current is None:
            raise PermanentError(f"no article {sku} to price")
        changed = _replace(current, price=price, campaign_price=campaign_price)
        self.writes.append(changed)
        self.set(changed)
        return "updated"


def _replace(article: Article, **changes: object) -> Article:
    return msgspec.structs.replace(article, **changes)


def article(sku: str, clock: FakeClock, **fields: object) -> Article:
    values: dict[str, object] = {
        "name": f"Article {sku}",
        "currency": "SEK",
        "price": Decimal("100"),
        "vat_rate": Decimal(25),
        "modified_at": clock.now(),
    }
    values.update(fields)
    return Article(sku=sku, **values)  # type: ignore[arg-type]


@dataclass
class FakeErp(_Articles):
    """An ERP: stock, articles and price lists to read; documents that take stock off."""

    levels: dict[str, Decimal] = field(default_factory=dict)
    level_changed: dict[str, datetime] = field(default_factory=dict)
    list_prices: list[tuple[datetime, ListPrice]] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    stock_reads: int = 0

    def set_stock(self, sku: str, quantity: Decimal | int) -> None:
        self.levels[sku] = Decimal(quantity)
        self.level_changed[sku] = self.clock.now()

    def touch_stock(self, sku: str) -> None:
        """The level's change time moves, its quantity does not (e.g. a stock count)."""
        self.level_changed[sku] = self.clock.now()

    def set_list_price(self, price: ListPrice) -> None:
        self.list_prices.append((self.clock.now(), price))

    # StockSource
    async def changed_stock(self, since: datetime, until: datetime) -> AsyncIterator[StockLevel]:
        for sku, when in sorted(self.level_changed.items(), key=lambda kv: kv[1]):
            if since <= when < until:
                yield StockLevel(sku=sku, quantity=self.levels[sku], modified_at=when)

    async def stock_of(self, sku: str) -> StockLevel | None:
        self.stock_reads += 1
        if sku not in self.levels:
            return None
        return StockLevel(sku=sku, quantity=self.levels[sku], modified_at=self.level_changed[sku])

    # PriceListSource
    async def changed_list_prices(
        self, since: datetime, until: datetime
    ) -> AsyncIterator[ListPrice]:
        for when, price in self.list_prices:
            if since <= when < until:
                yield price

    # DocumentSink: a booked document takes its articles off the stock
    async def find_customer(self, customer: Customer, match_on: Sequence[str]) -> str | None:
        return "1"

    async def create_customer(self, customer: Customer, currency: str) -> str:
        return "1"

    async def find_document(
        self, reference: str, document_type: DocumentType
    ) -> DocumentRef | None:
        for number, doc in enumerate(self.documents, start=1):
            if doc.reference == reference:
                return DocumentRef(
                    document_type=document_type, number=str(number), reference=reference
                )
        return None

    async def create_document(self, document: Document) -> DocumentRef:
        self.documents.append(document)
        for line in document.lines:
            if line.article_number in self.levels:
                self.set_stock(
                    line.article_number, self.levels[line.article_number] - line.quantity
                )
        return DocumentRef(
            document_type=document.document_type,
            number=str(len(self.documents)),
            reference=document.reference,
            booked=True,
        )

    async def aclose(self) -> None:
        return None


@dataclass
class FakeShop(_Articles):
    """A shop: orders that take stock off as they are placed, stock levels and price lists
    the daemon writes (every level it was ever given is kept in ``shown``)."""

    stock: dict[str, Decimal] = field(default_factory=dict)
    shown: dict[str, list[Decimal]] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    stock_writes: int = 0
    order_fetches: int = 0
    list_prices: dict[tuple[str, str], ListPrice] = field(default_factory=dict)
    list_price_writes: int = 0
    lacks_skus: set[str] = field(default_factory=set)

    def place_order(self, order_id: str, sku: str, quantity: int) -> None:
        now = self.clock.now()
        qty = Decimal(quantity)
        self.orders[order_id] = Order(
            shop_order_id=order_id,
            created_at=now,
            modified_at=now,
            status="paid",
            currency="SEK",
            customer=Customer(email="kund@example.se", name="Kund"),
            lines=(
                OrderLine(
                    sku=sku, name=sku, quantity=qty, unit_price=Decimal(100), vat_rate=Decimal(25)
                ),
            ),
            total=qty * Decimal(125),
            total_vat=qty * Decimal(25),
        )
        self.stock[sku] = self.stock.get(sku, Decimal(0)) - qty  # the shop sells at once

    # OrderSource, ExportMark
    async def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        for order in list(self.orders.values()):
            if since <= order.modified_at < until:
                yield OrderChange(
                    shop_order_id=order.shop_order_id,
                    modified_at=order.modified_at,
                    status=order.status,
                )

    async def fetch_order(self, shop_order_id: str) -> Order:
        self.order_fetches += 1
        return self.orders[shop_order_id]

    async def mark_exported(self, shop_order_id: str, document: DocumentRef) -> None:
        return None

    # StockSink
    async def put_stock(self, sku: str, quantity: Decimal) -> Written:
        if sku in self.lacks_skus:
            raise PermanentError(f"the shop has no article with SKU {sku}")
        self.stock_writes += 1
        self.shown.setdefault(sku, []).append(quantity)
        unchanged = self.stock.get(sku) == quantity
        self.stock[sku] = quantity
        return "unchanged" if unchanged else "updated"

    # PriceListSink
    async def put_list_price(self, target_list: str, price: ListPrice) -> Written:
        self.list_price_writes += 1
        self.list_prices[target_list, price.sku] = price
        return "updated"

    async def aclose(self) -> None:
        return None


def catalog_flow(
    store: Store,
    clock: FakeClock,
    erp: FakeErp,
    shops: Mapping[str, FakeShop],
    *,
    masters: Mapping[Register, str],
    settings: CatalogConfig | None = None,
    orders: bool = True,
) -> Flow:
    """A connection "c" over the fakes: the orders row (if ``orders``) and the catalog rows."""
    rows: list[PlanRow] = []
    if orders:
        handler = OrdersHandler(
            connection="c",
            erp_name="erp",
            shops=shops,
            erp=erp,
            options=OrdersConfig(overlap=Duration(60), lookback=Duration(3600)),
            clock=clock,
        )
        rows.append(orders_plan(handler=handler, store=store))
    sides = CatalogSides(
        connection="c",
        erp_name="erp",
        erp=erp,
        shops=shops,
        masters=masters,
        store=store,
        clock=clock,
        settings=settings or CatalogConfig(),
        poll=PollConfig(),
    )
    rows += catalog_rows(sides)
    engine = Engine(
        connection="c",
        store=store,
        clock=clock,
        run_id="run-1",
        handlers={h.register: h for row in rows for h in row.handlers},
        rng=random.Random(0),
    )
    return Flow(engine=engine, rows=rows, erp=erp, shops=shops)


async def drain(flow: Flow, register: str, limit: int = 200) -> list[str]:
    """Run due items of ``register`` until none is due; their outcome states."""
    states = []
    for _ in range(limit):
        item = await flow.claim(register)
        if item is None:
            break
        states.append((await flow.process(item)).value)
    return states


async def poll(flow: Flow, register: str, clock: FakeClock, seconds: float = 1.0) -> int:
    """Move the clock on and poll every feed of ``register`` once."""
    clock.advance(seconds)
    created = 0
    for discoverer in flow.discoverers:
        if discoverer.register == register:
            for instance in discoverer.instances:
                created += await flow.poll(discoverer, instance)
    return created
