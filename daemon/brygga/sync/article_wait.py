"""Writes that wait for the products flow: a level for an article the shop gets from that flow.

When the products register goes from the same source to a shop (``erp``: the ERP's articles
are created in the shops), a stock write for an SKU the shop does not have *yet* is no article
the shop does not sell: its product item may simply run later than the stock item (one change
fans out to both registers). Such an item waits (:meth:`CreatedHere.wait`: a retry in a few
seconds, growing, bounded by :data:`WAIT_DELAYS`; while the products flow has written nothing
for the SKU in that shop, a retry costs no request), and the products handler, once it created
the article in a shop, queues the stock item of that SKU and shop at once
(:meth:`CreatedHere.follow_ups`), so the level follows the creation without waiting for the
next change of the level. After the last wait the item is skipped with a sentence that says
the creation will queue it again.

Where the products flow does not feed the shop (the shop is master of products, products not
synced, ``create = false``), the SKU is one of the connection's fee articles, or the source has
no such article, the plain "the shop has no article" skip stays.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import msgspec

from brygga.errors import NothingToDo
from brygga.models import Register
from brygga.registers import ProductSource
from brygga.store import FollowUp, Outcome, WorkItem
from brygga.sync.catalog_items import CatalogPayload, OrderOnly

__all__ = ["WAIT_DELAYS", "CreatedHere", "with_follow_ups"]

#: seconds between the tries of an item that waits for its article to be created (then it is
#: skipped with a sentence; the creation queues it again): about 8 minutes in all
WAIT_DELAYS = (5.0, 15.0, 45.0, 120.0, 300.0)
#: the products register, whose written fingerprint tells that the article was put there
PRODUCTS = Register.PRODUCTS.value


@dataclass(frozen=True)
class CreatedHere:
    """Where the products flow creates ``source_name``'s articles: the shops in ``targets``
    (its ``ProductSink`` targets, with ``[connection.catalog] create`` on). ``registers``:
    the registers (``stock``) whose item of an SKU and shop the products handler queues
    when it created the article there."""

    source_name: str
    source: ProductSource | None
    targets: frozenset[str] = frozenset()
    #: SKUs the products flow never puts in a shop (the connection's fee articles)
    order_only: OrderOnly = field(default_factory=OrderOnly)
    registers: tuple[str, ...] = ()

    def feeds(self, target: str, sku: str) -> bool:
        """Whether the products flow puts ``sku`` in ``target`` (without asking the source)."""
        return self.source is not None and target in self.targets and sku not in self.order_only

    async def will_create(self, target: str, sku: str) -> bool:
        """:meth:`feeds`, and the source has the article (one request, asked only after the
        shop said it lacks it). A transient error reading it is raised (the item retries)."""
        if not self.feeds(target, sku) or self.source is None:
            return False
        return await self.source.fetch_article(sku) is not None

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

    def wait(self, item: WorkItem, what: str, now: datetime) -> Outcome:
        """The outcome of a try that found no article ``item.external_id`` in its shop while
        the products flow will create it: a retry after the next of :data:`WAIT_DELAYS`, or
        (tries used up) NothingToDo with the sentence."""
        sku, shop = item.external_id, item.instance
        tries = item.attempts
        if tries > len(WAIT_DELAYS):
            waited = _minutes(sum(WAIT_DELAYS))
            raise NothingToDo(
                f"{item.register} {sku}: shop {shop} still has no article {sku} after {tries} "
                f"tries over {waited}, though the products flow puts {self.source_name}'s "
                f"articles there; when it creates {sku} in {shop} it queues this {what} again "
                f"(if it does not, look for products {sku} for {shop} in brygga errors)"
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
        ``source``: each of :attr:`registers` for that SKU and shop, queued again when it
        finished (a level skipped or waiting before the article existed)."""
        if source != self.source_name or not self.feeds(target, sku):
            return ()
        payload = msgspec.json.encode(CatalogPayload(source=source))
        return tuple(
            FollowUp(register, target, sku, payload=payload, reopen=True)
            for register in self.registers
        )


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
