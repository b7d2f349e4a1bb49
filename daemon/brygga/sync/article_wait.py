"""Writes that wait for the products flow: a level for an article the shop gets from that flow.

When the products register goes from the same source to a shop (``erp``: the ERP's articles
are created in the shops), a stock or list-price write for an SKU the shop does not have *yet*
is no article the shop does not sell: its product item may simply run later (one change fans
out to several registers). Such an item waits (:meth:`CreatedHere.wait`: a retry in a few
seconds, growing, bounded by :data:`WAIT_DELAYS`; while the products flow has written nothing
for the SKU in that shop, a retry costs no request), and the products handler, once it created
the article in a shop, queues the stock item of that SKU and shop at once
(:meth:`CreatedHere.follow_ups`), so the level follows the creation without waiting for the
next change of the level. After the last wait a stock item is skipped with a sentence that
says the creation will queue it again; a list price (whose item the creation cannot queue: the
feed alone knows the price) becomes an error record naming the products record to look at.
Prices on their own (``PriceSink``) run only when products come from the other side, so they
never wait.

Where the products flow does not feed the shop (the shop is master of products, products not
synced, ``create = false``), the SKU is one of the connection's fee articles, or the source has
no such article, the plain "the shop has no article" skip stays.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import msgspec

from brygga.errors import NothingToDo, PermanentError
from brygga.models import Register
from brygga.registers import ProductSource
from brygga.store import FollowUp, Outcome, WorkItem
from brygga.sync.catalog_items import CatalogPayload, OrderOnly, lacks_article

__all__ = ["WAIT_DELAYS", "CreatedHere", "with_follow_ups"]

#: seconds between the tries of an item that waits for its article to be created (then it is
#: skipped with a sentence; the creation queues it again): about 8 minutes in all
WAIT_DELAYS = (5.0, 15.0, 45.0, 120.0, 300.0)
#: the products register, whose written fingerprint tells that the article was put there
PRODUCTS = Register.PRODUCTS.value
STOCK = Register.STOCK.value


@dataclass(frozen=True)
class CreatedHere:
    """Where the products flow creates ``source_name``'s articles: the shops in ``targets``
    (its ``ProductSink`` targets, with ``[connection.catalog] create`` on). The products
    handler queues the stock item of an SKU it created in one of ``stock_targets`` (the
    shops the stock flow from the same source writes to)."""

    source_name: str
    source: ProductSource | None
    targets: frozenset[str] = frozenset()
    #: SKUs the products flow never puts in a shop (the connection's fee articles)
    order_only: OrderOnly = field(default_factory=OrderOnly)
    stock_targets: frozenset[str] = frozenset()

    def feeds(self, target: str, sku: str) -> bool:
        """Whether the products flow puts ``sku`` in ``target`` (without asking the source)."""
        return self.source is not None and target in self.targets and sku not in self.order_only

    async def will_create(self, target: str, sku: str) -> bool:
        """:meth:`feeds`, and the source has the article (one request, asked only after the
        shop said it lacks it). A transient error reading it is raised (the item retries)."""
        if not self.feeds(target, sku) or self.source is None:
            return False
        return await self.source.fetch_article(sku) is not None

    async def lacks_yet(self, sink: object, target: str, sku: str) -> bool:
        """After ``sink`` (the shop ``target``) refused a write for ``sku``: it lacks the
        article, and the products flow will create it there (:meth:`will_create`)."""
        if not self.feeds(target, sku):
            return False
        return await lacks_article(sink, sku) and await self.will_create(target, sku)

    # -- the waiting item ------------------------------------------------------------------

    def waiting(self, item: WorkItem) -> bool:
        """The item's last try waited for the article and the products flow has put nothing
        there since: this try can wait again without a request (not the last try: that one
        writes, in case the article came some other way)."""
        return (
            item.last_error.startswith(self._waiting_prefix(item))
            and not item.written_of.get(PRODUCTS)
            and item.attempts <= len(WAIT_DELAYS)
        )

    def wait(
        self, item: WorkItem, what: str, now: datetime, *, sku: str = "", requeued: bool = True
    ) -> Outcome:
        """The outcome of a try that found no article ``sku`` (default: the item's key) in its
        shop while the products flow will create it: a retry after the next of
        :data:`WAIT_DELAYS`, or (tries used up) NothingToDo with the sentence; with
        ``requeued`` False (the creation does not queue this item again: price lists) a
        PermanentError (an error record) instead."""
        sku, shop = sku or item.external_id, item.instance
        tries = item.attempts
        if tries > len(WAIT_DELAYS):
            waited = _minutes(sum(WAIT_DELAYS))
            still = (
                f"{item.register} {item.external_id}: shop {shop} still has no article {sku} "
                f"after {tries} tries over {waited}, though the products flow puts "
                f"{self.source_name}'s articles there"
            )
            if not requeued:
                raise PermanentError(
                    f"{still}; look for products {sku} for {shop} in brygga errors, and retry "
                    "this record once the article is there"
                )
            raise NothingToDo(
                f"{still}; when it creates {sku} in {shop} it queues this {what} again (if it "
                f"does not, look for products {sku} for {shop} in brygga errors)"
            )
        delay = WAIT_DELAYS[tries - 1]
        sentence = (
            f"{self._waiting_prefix(item)} {sku} yet; the products flow creates it from "
            f"{self.source_name}, and this {what} is written once it is there (try {tries}, "
            f"next in {delay:g} s)"
        )
        return Outcome(
            state="retry",
            error=sentence,
            next_attempt=now + timedelta(seconds=delay),
            events=(("waiting", sentence),) if tries == 1 else (),
        )

    @staticmethod
    def _waiting_prefix(item: WorkItem) -> str:
        return f"{item.register} {item.external_id}: waiting: shop {item.instance} has no article"

    # -- the products handler's side -----------------------------------------------------

    def follow_ups(self, target: str, sku: str, source: str) -> tuple[FollowUp, ...]:
        """The items to queue when the products flow created ``sku`` in ``target`` from
        ``source``: the stock item of that SKU and shop (one of :attr:`stock_targets`),
        queued again when it finished (a level skipped or waiting before the article
        existed)."""
        if source != self.source_name or target not in self.stock_targets:
            return ()
        if not self.feeds(target, sku):
            return ()
        payload = msgspec.json.encode(CatalogPayload(source=source))
        return (FollowUp(STOCK, target, sku, payload=payload, reopen=True),)


def with_follow_ups(
    outcome: Outcome, created: CreatedHere | None, target: str, sku: str, source: str
) -> Outcome:
    """``outcome`` of a products item that created ``sku`` in ``target``, with the items that
    :class:`CreatedHere` queues after a creation (none: ``created`` is None)."""
    if created is None:
        return outcome
    follow = created.follow_ups(target, sku, source)
    return replace(outcome, follow_ups=(*outcome.follow_ups, *follow)) if follow else outcome


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} minutes" if seconds >= 120 else f"{seconds:g} s"
