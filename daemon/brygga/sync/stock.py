"""The stock register: the ERP's levels pushed to every shop as *available* quantities.

available = ERP quantity − what the connection's shop orders hold that are received but not
yet transferred to the ERP − the shop's safety buffer, never below 0; so a push never undoes a
sale in flight. An order holds stock from the moment the orders poller records it until its
transfer is done (or it is skipped as cancelled, or a person resolves it); a failed order keeps
holding it. The store knows which orders those are; their line quantities are read once per
order (``fetch_order`` on its shop, by the first stock item that needs them) and recorded with
that item's outcome, so later items get the sum with their claim.

The connection's fee articles (``order_only``: freight, handling fee, discount and rounding
articles, in each VAT form) are never offered in a shop: their items are skipped with a
sentence naming the article's role, without reading their level. A shop that refuses a level
because it lacks the article (ERPs keep articles no shop sells)
makes the item skipped, not an error record, when the shop can read its articles
(``ProductSource``) and says it has no such SKU — unless the products flow puts the source's
articles in that shop and the source has the article: then the shop lacks it only *yet* (its
product item runs later), and the item waits for it (sync/article_wait.py: a few tries over
about 8 minutes, and the products handler queues it again once it created the article).

The sum is read with the claim, *before* the ERP level: an order that reaches the ERP in
between is taken off twice for that one push (the shop shows less for a moment), never zero
times (the shop never shows more than it should). Only changed levels are written: the claim
carries the fingerprint of what was last written to the shop.

One change fans out to one item per shop; a worker claims them in batches (:func:`stock_plan`:
a feed page's items for every shop), and the batch reads each SKU's ERP level once, after
its claim (:meth:`StockHandler.prepare`), for all of its shops. The level the feed reported
is not used: it was read before the claim, so an order that reached the ERP in between
would be taken off zero times.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TypeAlias

from brygga.catalog import StockLevel
from brygga.clock import Clock
from brygga.errors import NothingToDo, PermanentError
from brygga.mappings import Mapping as FieldMapping
from brygga.mappings import mapped_stock
from brygga.models import LineKind, Order, Register
from brygga.registers import OrderSource, StockSink, StockSource
from brygga.store import (
    Health,
    OrderLines,
    Outcome,
    PendingOrder,
    Reads,
    Reservations,
    Store,
    WorkItem,
)
from brygga.sync.article_wait import CreatedHere
from brygga.sync.catalog_feed import PAGE, CatalogFeed
from brygga.sync.catalog_items import (
    NO_SKU,
    OrderOnly,
    content_hash,
    lacks_article,
    plain,
    refuse_blank,
    sku_record,
)
from brygga.sync.flow import PlanRow

__all__ = ["REGISTER", "StockHandler", "available", "order_lines", "stock_batch", "stock_plan"]

REGISTER = Register.STOCK.value
#: the register whose unfinished items hold stock
HELD_BY = Register.ORDERS.value
#: most items a stock worker claims and finishes per transaction
MAX_BATCH = 1000
#: levels read ahead for claimed items beyond which the unused ones are dropped (a batch
#: cancelled half-way leaves its rest behind)
MAX_PREPARED = 4 * MAX_BATCH

#: what :meth:`StockHandler.prepare` read for an item: the level, or the error to raise
Prepared: TypeAlias = StockLevel | BaseException | None


def available(quantity: Decimal, held: Decimal, buffer: Decimal) -> Decimal:
    """What a shop may sell: the ERP's quantity less what orders hold and the buffer, ≥ 0."""
    return max(Decimal(0), quantity - held - buffer)


def order_lines(item_id: int, order: Order) -> OrderLines:
    """The SKU quantities of an order's article lines (fees and discounts hold no stock)."""
    totals: dict[str, Decimal] = {}
    for line in order.lines:
        if line.kind is LineKind.ITEM and line.sku:
            totals[line.sku] = totals.get(line.sku, Decimal(0)) + line.quantity
    return OrderLines(item_id, tuple(totals.items()))


def _held_of(sku: str, learned: Iterable[OrderLines]) -> Decimal:
    return sum((q for lines in learned for s, q in lines.quantities if s == sku), Decimal(0))


@dataclass
class StockHandler:
    """Pushes one SKU's available quantity to one shop (the item's instance)."""

    connection: str
    source_name: str
    source: StockSource
    sinks: Mapping[str, StockSink]
    #: the connection's shops, to read the lines of orders that hold stock
    shops: Mapping[str, OrderSource]
    clock: Clock
    #: shop → quantity kept back
    buffers: Mapping[str, Decimal] = field(default_factory=dict)
    #: SKUs never offered in a shop (the connection's fee articles): skipped, not read
    order_only: OrderOnly = field(default_factory=OrderOnly)
    #: the plugins' stock mappings, run on the available quantity before it is written
    mappings: Sequence[FieldMapping] = ()
    #: where the products flow creates the source's articles: a level for an SKU such a shop
    #: lacks *yet* waits for it (:class:`~brygga.sync.article_wait.CreatedHere`); None: the
    #: shop's own articles, a lacking one is skipped
    created: CreatedHere | None = None
    register: str = REGISTER
    #: item id → the level :meth:`prepare` read for it after its claim
    _prepared: dict[int, Prepared] = field(default_factory=dict, repr=False)

    @property
    def reads(self) -> Reads:
        """The claim reads the last written level and what orders in flight hold (and, when
        the products flow creates articles in the shops, whether it put the item's article)."""
        products = ("products",) if self.created is not None else ()
        return Reads(written=True, reserved_by=HELD_BY, written_of=products)

    async def prepare(self, items: Sequence[WorkItem]) -> None:
        """Read each SKU of the claimed ``items`` once (the batch holds one SKU's item for
        every shop): after the claim, so the claim's sum of held quantities is older than
        the level, as :meth:`handle`'s own read would be. A read that fails is kept and
        raised by each item of its SKU."""
        if len(self._prepared) > MAX_PREPARED:
            self._prepared.clear()
        read: dict[str, Prepared] = {}
        for item in items:
            sku = item.external_id
            if item.instance not in self.sinks or item.external_id.startswith(NO_SKU):
                continue
            if sku in self.order_only:
                continue
            if self.created is not None and self.created.waiting(item):
                continue  # waits again without a request
            if sku not in read:
                try:
                    read[sku] = await self.source.stock_of(sku)
                except Exception as exc:  # handle raises it for each of the SKU's items
                    read[sku] = exc
            self._prepared[item.id] = read[sku]

    async def _level_of(self, item: WorkItem) -> StockLevel | None:
        """The level :meth:`prepare` read for this item, else read now."""
        if item.id in self._prepared:
            prepared = self._prepared.pop(item.id)
            if isinstance(prepared, BaseException):
                raise prepared
            return prepared
        return await self.source.stock_of(item.external_id)

    async def handle(self, item: WorkItem) -> Outcome:
        try:
            return await self._handle(item)
        finally:
            self._prepared.pop(item.id, None)

    async def _handle(self, item: WorkItem) -> Outcome:
        refuse_blank(item, self.source_name)
        sku, shop = item.external_id, item.instance
        self.order_only.skip("stock", sku, shop)
        sink = self.sinks.get(shop)
        if sink is None:
            raise PermanentError(
                f"stock {sku}: shop {shop!r} is no longer in this connection's config (or "
                "takes no stock); resolve the record"
            )
        held = item.reserved or Reservations(Decimal(0))
        learned = await self._learn(sku, shop, held.unknown)
        if held.more:
            # more orders than one claim reads: record these, come back for the rest
            return Outcome(
                state="new",
                next_attempt=self.clock.now(),
                revisit=True,
                error="reading the lines of the orders that hold stock first",
                order_lines=learned,
            )
        if self.created is not None and self.created.waiting(item):
            # still waiting for the products flow to create it there: no request
            return replace(self.created.wait(item, "level", self.clock.now()), order_lines=learned)
        level = await self._level_of(item)
        if level is None:
            raise NothingToDo(f"stock {sku}: {self.source_name} has no article {sku}")
        buffer = self.buffers.get(shop, Decimal(0))
        in_orders = held.quantity + _held_of(sku, learned)
        computed = available(level.quantity, in_orders, buffer)
        # the one place the stock flow maps (plugins' stock mappings): fingerprinted after
        quantity = mapped_stock(
            self.mappings,
            level,
            computed,
            connection=self.connection,
            erp=self.source_name,
            shop=shop,
        )
        digest = content_hash(("stock", quantity))
        if digest == item.written:
            return Outcome(
                state="done",
                result=f"{plain(quantity)} (unchanged)",
                order_lines=learned,
                health=Health(REGISTER, ok=True),
            )
        try:
            written = await sink.put_stock(sku, quantity)
        except PermanentError:
            created = self.created
            fed = created is not None and created.feeds(shop, sku)
            if not await lacks_article(sink, sku):
                if not fed:
                    raise
                # the products flow may have created it since the refusal: once more
                written = await sink.put_stock(sku, quantity)
            elif created is not None and fed and await created.will_create(shop, sku):
                # the products flow has not created it there yet (its item runs later)
                waiting = created.wait(item, "level", self.clock.now())
                return replace(waiting, order_lines=learned)
            else:
                raise NothingToDo(
                    f"stock {sku}: shop {shop} has no article {sku}, so it keeps no stock of it "
                    "(the next change of its level looks again)"
                ) from None
        how = (
            f"{written}: available {plain(computed)} = {self.source_name} "
            f"{plain(level.quantity)} - {plain(in_orders)} in orders not yet transferred"
        )
        if buffer:
            how += f" - buffer {plain(buffer)}"
        if quantity != computed:
            how += f"; {plain(quantity)} written, as the stock mappings say"
        return Outcome(
            state="done",
            result=plain(quantity),
            written=digest,
            order_lines=learned,
            events=(("written", how),),
            health=Health(REGISTER, ok=True),
        )

    async def _learn(
        self, sku: str, shop: str, pending: Sequence[PendingOrder]
    ) -> tuple[OrderLines, ...]:
        """The lines of orders that hold stock and whose lines the store does not know."""
        learned = []
        for order in pending:
            source = self.shops.get(order.instance)
            if source is None:  # its shop left the config: nothing to read it from
                learned.append(OrderLines(order.item_id, ()))
                continue
            try:
                fetched = await source.fetch_order(order.external_id)
            except PermanentError as exc:
                raise PermanentError(
                    f"stock {sku} for shop {shop}: order {order.external_id} of shop "
                    f"{order.instance} holds stock, but it cannot be read ({exc}); fix the "
                    "order, then retry this record"
                ) from exc
            learned.append(order_lines(order.item_id, fetched))
        return tuple(learned)


def stock_plan(
    *,
    handler: StockHandler,
    store: Store,
    interval: float,
    lookback: float,
    overlap: float,
    workers: int = 1,
) -> PlanRow:
    """The stock row: the ERP's stock feed (one item per shop) and the push, claimed in
    batches of :func:`stock_batch` items."""
    feed = CatalogFeed[StockLevel](
        connection=handler.connection,
        register=REGISTER,
        store=store,
        clock=handler.clock,
        feeds={handler.source_name: handler.source.changed_stock},
        targets=list(handler.sinks),
        record=sku_record,
        interval=interval,
        lookback=lookback,
        overlap=overlap,
    )
    return PlanRow(
        handlers=(handler,),
        discoverers=(feed,),
        workers={REGISTER: workers},
        batch={REGISTER: stock_batch(len(handler.sinks))},
    )


def stock_batch(shops: int) -> int:
    """Items per claim: a feed page's items for every shop (the feed queues a page for one
    shop after the other, so a batch holds each of the page's SKUs for every shop and reads
    its level once), at most :data:`MAX_BATCH` (then whole pages' worth of SKUs where one
    fits)."""
    shops = max(1, shops)
    if PAGE * shops <= MAX_BATCH:
        return PAGE * shops
    return max(1, MAX_BATCH // shops) * shops
