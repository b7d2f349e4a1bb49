"""The price-lists register: customer-group prices from the ERP's lists into each shop's lists.

Which shop list an ERP list goes to is configuration, per shop
(``[connection.catalog.shops.<shop>] price_lists = { "<ERP list>" = "<shop list>" }``); a
list a shop has not mapped is not queued for it. The feed is the only way to read a list
price, so the item carries the price it reported; an item per (shop, list, SKU, volume). A
price of one of the connection's fee articles (``order_only``: never offered in a shop) is
skipped with a sentence naming it. A price the shop refuses for an SKU it lacks while the
products flow creates the ERP's articles there (``created``, sync/article_wait.py) waits for
the product (a few tries over about 8 minutes, then an error record naming the products record
to look at); elsewhere the refusal is an error record.

The plugins' ``price_lists`` mappings run on the list price once its shop list is known and
before it is fingerprinted (:func:`brygga.mappings.apply_mappings`, source the ERP, target the
shop): what they return is what is written and compared with what was last written. Which shop
list a price goes to is configuration: a mapping's ``price_list`` change is not followed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from brygga.catalog import ListPrice
from brygga.clock import Clock, SystemClock
from brygga.errors import NothingToDo, PermanentError
from brygga.mappings import Mapping as FieldMapping
from brygga.mappings import MappingContext, apply_mappings
from brygga.models import Register
from brygga.registers import PriceListSink, PriceListSource
from brygga.store import Discovered, Health, Outcome, Reads, Store, WorkItem
from brygga.sync.article_wait import CreatedHere
from brygga.sync.catalog_feed import CatalogFeed
from brygga.sync.catalog_items import (
    OrderOnly,
    catalog_record,
    content_hash,
    payload_of,
    plain,
    refuse_blank,
)
from brygga.sync.flow import PlanRow

__all__ = ["REGISTER", "PriceListsHandler", "list_price_key", "price_lists_plan"]

REGISTER = Register.PRICE_LISTS.value


def list_price_key(price: ListPrice) -> str:
    """The item key of one list price: list, SKU and the quantity it applies from."""
    if not price.sku.strip():
        return ""
    return f"{price.price_list}/{price.sku}@{plain(price.min_quantity)}"


@dataclass
class PriceListsHandler:
    """Sets one list price in one shop's mapped price list (the item's instance)."""

    connection: str
    sinks: Mapping[str, PriceListSink]
    #: shop → {source list → shop list}
    mapping: Mapping[str, Mapping[str, str]]
    #: SKUs never put in a shop (the connection's fee articles)
    order_only: OrderOnly = field(default_factory=OrderOnly)
    #: the plugins' price-lists mappings, run on each list price before it is written
    mappings: Sequence[FieldMapping] = ()
    #: where the products flow creates the ERP's articles: a list price for an SKU such a shop
    #: lacks *yet* waits for it (sync/article_wait.py); None: the refusal is an error record
    created: CreatedHere | None = None
    clock: Clock = field(default_factory=SystemClock)
    register: str = REGISTER

    @property
    def reads(self) -> Reads:
        return Reads(written=True)

    def accepts(self, shop: str, price: ListPrice) -> bool:
        """Whether ``shop`` has mapped the price's list (the feed queues nothing else)."""
        return price.price_list in self.mapping.get(shop, {})

    async def handle(self, item: WorkItem) -> Outcome:
        payload = payload_of(item)
        refuse_blank(item, payload.source)
        price = payload.list_price
        sink = self.sinks.get(item.instance)
        if price is None or sink is None:
            raise PermanentError(
                f"price list {item.external_id}: shop {item.instance!r} takes no price lists in "
                "this connection's config any more (or the record carries no price); resolve it"
            )
        self.order_only.skip("price list", price.sku, item.instance)
        target = self.mapping.get(item.instance, {}).get(price.price_list)
        if target is None:
            raise NothingToDo(
                f"price list {price.price_list!r} is not mapped for shop {item.instance}; map "
                f"it in [connection.catalog.shops.{item.instance}] price_lists"
            )
        # the one place the price-lists flow maps: fingerprinted after, so no echo
        price = apply_mappings(
            price,
            self.mappings,
            MappingContext.between(
                self.connection,
                Register.PRICE_LISTS,
                source=payload.source,
                target=item.instance,
                erp=payload.source,
            ),
            record=f"price list {item.external_id} for {item.instance}",
        )
        digest = content_hash(
            ("list price", target, price.currency, price.price, price.min_quantity)
        )
        if digest == item.written:
            return Outcome(state="done", result="unchanged", health=Health(REGISTER, ok=True))
        try:
            written = await sink.put_list_price(target, price)
        except PermanentError:
            created = self.created
            if created is None or not await created.lacks_yet(sink, item.instance, price.sku):
                raise
            # the products flow has not created the article there yet (its item runs later)
            now = self.clock.now()
            return created.wait(item, "list price", now, sku=price.sku, requeued=False)
        note = (
            f"{written} in {item.instance} list {target!r}: {plain(price.price)} "
            f"{price.currency} from {plain(price.min_quantity)} ({payload.source} list "
            f"{price.price_list!r})"
        )
        return Outcome(
            state="done",
            result=written,
            written=digest,
            events=(("written", note),),
            health=Health(REGISTER, ok=True),
        )


def price_lists_plan(
    *,
    handler: PriceListsHandler,
    source_name: str,
    source: PriceListSource,
    store: Store,
    clock: Clock,
    interval: float,
    lookback: float,
    overlap: float,
    workers: int = 1,
) -> PlanRow:
    """The price-lists row: the ERP's list-price feed, queued for each shop that maps the list."""

    def record(name: str, price: ListPrice, now: datetime) -> Discovered:
        # a list price has no change time of its own: when the poll saw it (its item is looked
        # at again, and written only when the price differs from what was last written)
        return catalog_record(list_price_key(price), source=name, changed_at=now, list_price=price)

    feed = CatalogFeed[ListPrice](
        connection=handler.connection,
        register=REGISTER,
        store=store,
        clock=clock,
        feeds={source_name: source.changed_list_prices},
        targets=list(handler.sinks),
        record=record,
        accepts=handler.accepts,
        interval=interval,
        lookback=lookback,
        overlap=overlap,
    )
    return PlanRow(handlers=(handler,), discoverers=(feed,), workers={REGISTER: workers})
