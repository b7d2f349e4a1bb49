"""The Starweb change feed: a walk down the order list, newest first, that survives drift.

Starweb has no modified-since filter on orders, so the walk reads ``sortBy=modifiedAt&
sortOrder=DESC`` offset pages from page 1 until a page ends below the window. Offset pages
drift when orders change meanwhile. An edit moves an order to the front, which only repeats
rows (kept once here); edited rows whose new ``modifiedAt`` still lies before ``until`` are
found by re-reading the head of the list while ``until`` lies beyond the newest row seen. A
deletion moves rows up past the cursor, which would skip one; a shrinking ``total`` is seen
and the walk starts over.

An order-list row that does not decode is logged and skipped by the walk;
:func:`unreadable_changes` then reports the ones whose order id was readable (see the
adapter's module notes).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from brygga.errors import PermanentError, TransientError
from brygga.models import OrderChange
from brygga_starweb.wire import OrderSummary, Pagination, UnreadableRow

__all__ = ["HEAD_RECHECKS", "RESTARTS", "OrderListWalk", "PageReader", "unreadable_changes"]

log = logging.getLogger(__name__)

#: how many times the head of the order list is re-read for rows edited during a walk
HEAD_RECHECKS = 3
#: how many times a walk restarts because the list shrank under it
RESTARTS = 3

PageReader = Callable[[int], Awaitable[tuple[list[OrderSummary], Pagination]]]


class OrderListWalk:
    """One change-feed read of ``[since, until)``: offset pages of the order list sorted by
    ``modifiedAt`` descending, read by ``read_page(n)``. ``rows`` holds each order in the
    window once, at its newest ``modifiedAt`` seen."""

    def __init__(
        self,
        read_page: PageReader,
        since: datetime,
        until: datetime,
        *,
        page_limit: int,
        shop: str,
    ) -> None:
        self.read_page = read_page
        self.since = since
        self.until = until
        self.page_limit = page_limit
        self.shop = shop
        self.rows: dict[int, OrderSummary] = {}
        self.pages = 0

    async def run(self) -> None:
        for _ in range(RESTARTS + 1):
            head, shrunk = await self._down_to(self.since)
            if not shrunk:
                break
            log.info(
                "starweb shop %s: order list shrank while paging; reading it again",
                self.shop,
            )
        else:
            raise TransientError(
                f"Starweb shop {self.shop}: orders kept disappearing while the order "
                "list was read; trying again later"
            )
        for _ in range(HEAD_RECHECKS):
            if head is None or head >= self.until:
                return
            newer, _ = await self._down_to(head)
            if newer is None or newer <= head:
                return
            head = newer

    async def _down_to(self, floor: datetime) -> tuple[datetime | None, bool]:
        """Read pages from 1 until a page ends below ``floor``; return the newest
        ``modifiedAt`` seen on page 1 and whether the list shrank meanwhile."""
        head: datetime | None = None
        first_total: int | None = None
        page = 1
        while True:
            self.pages += 1
            if self.pages > self.page_limit:
                raise PermanentError(
                    f"Starweb shop {self.shop}: read {self.page_limit} "
                    f"order-list pages without reaching {self.since.isoformat()}; raise "
                    "page_limit or shorten the orders lookback"
                )
            rows, pagination = await self.read_page(page)
            first_total = pagination.total if first_total is None else first_total
            if pagination.total < first_total:
                return head, True  # rows moved up past the cursor: this walk is void
            if page == 1 and rows:
                head = rows[0].modified_at
            for row in rows:
                self._keep(row)
            if not rows or rows[-1].modified_at < floor or page >= pagination.total_pages:
                return head, False
            page += 1

    def _keep(self, row: OrderSummary) -> None:
        if not self.since <= row.modified_at < self.until:
            return
        seen = self.rows.get(row.order_id)
        if seen is None or row.modified_at > seen.modified_at:
            self.rows[row.order_id] = row


async def unreadable_changes(
    unreadable: Sequence[UnreadableRow],
    since: datetime,
    until: datetime,
    *,
    seen: set[int],
    status_code: Callable[[int], Awaitable[str]],
    shop: str,
) -> list[OrderChange]:
    """Log every bad order-list row once; report each one with a readable order id that the
    walk did not already find, unless its readable ``modifiedAt`` lies outside the window.
    Its status is empty unless ``statusId`` was readable (the worker reads the full order)."""
    changes: dict[int, OrderChange] = {}
    logged: set[str] = set()
    for row in unreadable:
        if row.message not in logged:
            logged.add(row.message)
            log.warning("starweb shop %s: skipped an order-list row: %s", shop, row.message)
        if row.order_id is None or row.order_id in seen or row.order_id in changes:
            continue
        when = row.modified_at
        if when is not None and not since <= when < until:
            continue
        status = "" if row.status_id is None else await status_code(row.status_id)
        changes[row.order_id] = OrderChange(
            shop_order_id=str(row.order_id),
            modified_at=(when or since).astimezone(UTC),
            status=status,
        )
    return list(changes.values())
