"""The Starweb change feed: a walk down the order list, newest first, that survives drift.

Starweb has no modified-since filter on orders, so the walk reads ``sortBy=modifiedAt&
sortOrder=DESC`` offset pages from page 1 until a page ends below the window. Offset pages
drift when orders change meanwhile. An edit moves an order to the front, which only repeats
rows (kept once here); edited rows whose new ``modifiedAt`` still lies before ``until`` are
found by re-reading the head of the list while ``until`` lies beyond the newest row seen. A
deletion moves rows up past the cursor, which would skip one; a shrinking ``total`` is seen
and the walk starts over.

Orders with the same ``modifiedAt`` (a bulk edit stamps many in one second) are ties the spec
gives no order for: a server may list them differently on every request, so when they
straddle a page boundary, page N+1 may repeat some of page N's and skip others. A page holds
all of a tie group only when the group starts and ends inside it (a newer row before it, or
the list's start; an older row after it, or the list's end). :class:`TieSettler` finds every
order of a straddling group with such pages: first the one page of the list sorted oldest
first that holds the group's positions (its page boundaries lie elsewhere), and when the
group straddles that one too, it narrows the list with ``ordersCreatedAfter``/
``ordersCreatedBefore`` (every order of the group was created no later than its
``modifiedAt``) until each part of the group fits in one page, and reads a part created
within a few seconds by ``orderId`` instead, a key without ties. Bounds overlap by a second,
as the spec does not say whether they are inclusive. A group within two seconds of the
window's end is left to the next poll (more orders may still get its second; the daemon's
windows overlap by minutes), and a settled group older than that is remembered, so a busy
shop's polls do not read it again. A walk that saw as many orders at a
``modifiedAt`` as the list has positions for it (a server that keeps its tie order) saw them
all, and reads nothing more.

An order-list row that does not decode is logged and skipped by the walk;
:func:`unreadable_changes` then reports the ones whose order id was readable (see the
adapter's module notes).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from statistics import median_low
from typing import Protocol

from brygga.errors import PermanentError, TransientError
from brygga.models import OrderChange
from brygga_starweb.wire import OrderSummary, Pagination, UnreadableRow

__all__ = [
    "HEAD_RECHECKS",
    "RESTARTS",
    "FilteredReader",
    "OrderListWalk",
    "PageReader",
    "TieSettler",
    "unreadable_changes",
]

log = logging.getLogger(__name__)

#: how many times the head of the order list is re-read for rows edited during a walk
HEAD_RECHECKS = 3
#: how many times a walk restarts because the list shrank under it
RESTARTS = 3

#: one second, Starweb's timestamp resolution
SECOND = timedelta(seconds=1)
#: a tie group this much older than the list's head is taken as final (see ``settled``);
#: one this close to ``until`` is left to the next poll, whose window overlaps it
SETTLED_AFTER = 2 * SECOND
#: a range of creation times this narrow (or narrower) is read by orderId, which has no ties
NARROW = 5 * SECOND

PageReader = Callable[[int], Awaitable[tuple[list[OrderSummary], Pagination]]]


class FilteredReader(Protocol):
    """Page ``page`` of the order list sorted by ``sort_by`` descending (``ascending``: oldest
    first), of the orders created after ``created_after`` and before ``created_before``
    (either may be None)."""

    def __call__(
        self,
        page: int,
        *,
        sort_by: str,
        created_after: datetime | None,
        created_before: datetime | None,
        ascending: bool = False,
    ) -> Awaitable[tuple[list[OrderSummary], Pagination]]: ...


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
        read_filtered: FilteredReader | None = None,
        settled: dict[datetime, dict[int, OrderSummary]] | None = None,
    ) -> None:
        self.read_page = read_page
        self.read_filtered = read_filtered
        #: tie groups settled by earlier walks (shared with them): a second the list's head
        #: had passed gains no more orders, so its group need not be read again
        self.settled = {} if settled is None else settled
        self.since = since
        self.until = until
        self.page_limit = page_limit
        self.shop = shop
        self.rows: dict[int, OrderSummary] = {}
        self.pages = 0
        #: pages read to settle tie groups (:class:`TieSettler`), capped at ``page_limit``
        self.settle_pages = 0
        #: modifiedAt values in the window whose rows straddled a page boundary, with the
        #: orders seen at each
        self.straddled: dict[datetime, dict[int, OrderSummary]] = {}
        #: per straddling modifiedAt: its rows' list positions (first, end) in a read that
        #: read past them, and the list's total then
        self.placed: dict[datetime, tuple[int, int, int]] = {}
        #: modifiedAt values a read has seen every order of (see ``_down_to``)
        self.whole: set[datetime] = set()
        #: the server's page size (the spec has no parameter for it), from the last page
        self.per_page = 100

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
                break
            newer, _ = await self._down_to(head)
            if newer is None or newer <= head:
                break
            head = newer
        if self.read_filtered is not None:
            for when, seen in sorted(self.straddled.items()):
                if when in self.whole or when >= self.until - SETTLED_AFTER:
                    continue  # seen whole; or so recent that more may join: the next poll
                group = self.settled.get(when)
                if group is None:
                    settler = TieSettler(self, when, self.read_filtered)
                    group = {
                        row.order_id: row for row in await settler.run(seen, self.placed.get(when))
                    }
                    if head is not None and when < head - SETTLED_AFTER and not settler.pages_short:
                        self.settled[when] = group
                for row in group.values():
                    self._keep(row)

    def count_page(self) -> None:
        """Count one more order-list page against ``page_limit``."""
        self.pages += 1
        if self.pages > self.page_limit:
            raise PermanentError(
                f"Starweb shop {self.shop}: read {self.page_limit} "
                f"order-list pages without reaching {self.since.isoformat()}; raise "
                "page_limit or shorten the orders lookback"
            )

    async def _down_to(self, floor: datetime) -> tuple[datetime | None, bool]:
        """Read pages from 1 until a page ends below ``floor``; return the newest
        ``modifiedAt`` seen on page 1 and whether the list shrank meanwhile."""
        head: datetime | None = None
        first_total: int | None = None
        page = 1
        last: OrderSummary | None = None
        #: per modifiedAt of this read: the list positions of its first and last rows, and
        #: the orders seen at it
        spans: dict[datetime, tuple[int, int, set[int]]] = {}
        while True:
            self.count_page()
            rows, pagination = await self.read_page(page)
            first_total = pagination.total if first_total is None else first_total
            if pagination.total < first_total:
                return head, True  # rows moved up past the cursor: this walk is void
            if page == 1 and rows:
                head = rows[0].modified_at
            self.per_page = pagination.per_page or self.per_page
            if last is not None and rows and rows[0].modified_at == last.modified_at:
                self._straddles(last.modified_at, rows)
            for index, row in enumerate(rows):
                self._keep(row)
                position = (page - 1) * pagination.per_page + index
                first, _, ids = spans.get(row.modified_at, (position, 0, set()))
                ids.add(row.order_id)
                spans[row.modified_at] = (first, position, ids)
            last = rows[-1] if rows else None
            if not rows or rows[-1].modified_at < floor or page >= pagination.total_pages:
                # a tie group read to its end (at or above floor) with as many orders as it
                # has positions was seen whole, whatever order its pages came in
                self.whole.update(
                    when
                    for when, (first, end, ids) in spans.items()
                    if when >= floor and len(ids) == end - first + 1
                )
                self.placed.update(
                    (when, (first, end + 1, pagination.total))
                    for when, (first, end, _) in spans.items()
                    if when >= floor and when in self.straddled
                )
                return head, False
            page += 1

    def _straddles(self, when: datetime, rows: list[OrderSummary]) -> None:
        """Ties at ``when`` run over from the last page into this one: settle them later."""
        if not self.since <= when < self.until:
            return
        seen = self.straddled.setdefault(when, {})
        seen.update((row.order_id, row) for row in self.rows.values() if row.modified_at == when)
        seen.update((row.order_id, row) for row in rows if row.modified_at == when)

    def _keep(self, row: OrderSummary) -> None:
        if not self.since <= row.modified_at < self.until:
            return
        seen = self.rows.get(row.order_id)
        if seen is None or row.modified_at > seen.modified_at:
            self.rows[row.order_id] = row


class _OutOfPages(Exception):
    """A tie group took more pages than its budget."""


class TieSettler:
    """Every order whose ``modifiedAt`` is ``when``, for a tie group that straddled a page
    boundary of ``walk`` (see the module notes). The walk's tie groups together read at most
    ``page_limit`` pages (not counted against the walk's own); past that it logs the group it
    could not finish."""

    def __init__(self, walk: OrderListWalk, when: datetime, read: FilteredReader) -> None:
        self.walk = walk
        self.when = when
        self.read = read
        self.found: dict[int, OrderSummary] = {}
        #: the server's page size (the spec has no parameter for it), from the last page
        self.per_page = walk.per_page
        self.pages = 0
        #: the page budget ran out before the group was settled
        self.pages_short = False

    async def run(
        self, seen: dict[int, OrderSummary], placed: tuple[int, int, int] | None
    ) -> list[OrderSummary]:
        """The group's orders: ``seen`` (from the walk) and the ones found now. ``placed``
        is where the walk found them: (first, end) list positions and the list's total."""
        self.found.update(seen)
        try:
            if placed is not None and await self._read_ascending(*placed):
                return list(self.found.values())
            # the whole list straddles: split it at once (none was created after when)
            ranges = self._split(None, self.when + SECOND)
            while ranges:
                after, before = ranges.pop()
                if after is not None and before - after <= NARROW:
                    await self._by_order_id(after, before)
                    continue
                if len(self._inside(after, before)) > self.per_page or not await self._read(
                    after, before
                ):
                    ranges += self._split(after, before)
        except _OutOfPages:
            self.pages_short = True
            log.warning(
                "starweb shop %s: read %d order-list pages for the orders modified at %s "
                "without finding all of them; a later poll reads them again (raise "
                "page_limit if this repeats)",
                self.walk.shop,
                self.pages,
                self.when.isoformat(),
            )
        return list(self.found.values())

    async def _read_ascending(self, first: int, end: int, total: int) -> bool:
        """Read the one page of the list sorted oldest first that holds positions
        ``[first, end)`` of the newest-first list, when it does (its page boundaries lie
        elsewhere, unless the page size divides ``total``); True when it held the whole
        group: after an older row or the list's start, before a newer row or its end."""
        size = self.per_page
        low, high = total - end, total - first - 1  # the group's positions, oldest first
        if low < 0 or low // size != high // size:
            return False
        page = low // size + 1
        rows, pagination = await self._page(page, "modifiedAt", None, None, ascending=True)
        ties = [i for i, row in enumerate(rows) if row.modified_at == self.when]
        self.found.update((rows[i].order_id, rows[i]) for i in ties)
        if not ties or ties != list(range(ties[0], ties[-1] + 1)):
            return False
        starts = rows[ties[0] - 1].modified_at < self.when if ties[0] else page == 1
        ends = (
            rows[ties[-1] + 1].modified_at > self.when
            if ties[-1] < len(rows) - 1
            else page >= pagination.total_pages
        )
        return starts and ends

    def _inside(self, after: datetime | None, before: datetime) -> list[datetime]:
        """Creation times of the group's known orders that surely lie in ``(after, before)``."""
        return [
            row.created_at
            for row in self.found.values()
            if row.created_at is not None
            and row.created_at < before - SECOND
            and (after is None or row.created_at > after + SECOND)
        ]

    def _split(
        self, after: datetime | None, before: datetime
    ) -> list[tuple[datetime | None, datetime]]:
        """Narrower ranges whose union holds every order created strictly between ``after``
        and ``before`` whether Starweb's bounds are inclusive or not (each bound is a whole
        second, and neighbours overlap by one). Cut where the group's known orders were
        created: below the oldest (an open start), around a cluster created within a second
        or two (read by orderId), or at their median."""
        known = sorted(
            row.created_at
            for row in self.found.values()
            if row.created_at is not None
            and row.created_at < before + SECOND
            and (after is None or row.created_at > after - SECOND)
        )
        if not known:
            if after is not None:
                middle = (after + (before - after) / 2).replace(microsecond=0)
                return [(after, middle), (middle - SECOND, before)]
            # the open start changed while read, and none of the group was seen in it
            log.warning(
                "starweb shop %s: orders modified at %s may be missing from this poll (the "
                "order list changed while they were read); a later poll reads them again",
                self.walk.shop,
                self.when.isoformat(),
            )
            return []
        oldest, newest = known[0], known[-1]
        if after is None:
            oldest = min(oldest, before - 2 * SECOND)
            return [(None, oldest - SECOND), (oldest - 2 * SECOND, before)]
        if newest - oldest <= SECOND:  # a cluster: below it, it (by orderId), above it
            ranges: list[tuple[datetime | None, datetime]] = [
                (oldest - 2 * SECOND, newest + 2 * SECOND)
            ]
            if oldest - SECOND - after > SECOND:
                ranges.append((after, oldest - SECOND))
            if before - (newest + SECOND) > SECOND:
                ranges.append((newest + SECOND, before))
            return ranges
        middle = max(after + 2 * SECOND, min(median_low(known), before - 2 * SECOND))
        return [(after, middle), (middle - SECOND, before)]

    async def _page(
        self,
        page: int,
        sort_by: str,
        after: datetime | None,
        before: datetime | None,
        *,
        ascending: bool = False,
    ) -> tuple[list[OrderSummary], Pagination]:
        if self.walk.settle_pages >= self.walk.page_limit:
            raise _OutOfPages
        self.walk.settle_pages += 1
        self.pages += 1
        rows, pagination = await self.read(
            page,
            sort_by=sort_by,
            created_after=after,
            created_before=before,
            ascending=ascending,
        )
        self.per_page = pagination.per_page or self.per_page
        return rows, pagination

    async def _read(self, after: datetime | None, before: datetime) -> bool:
        """Read ``(after, before)`` by ``modifiedAt`` down to the group; True when one page
        held all of the group's orders in the range: they start after a newer row (or at the
        start of a page that follows newer rows) and end before an older row (or at the end
        of a page the next of which starts older, or at the list's end)."""
        when = self.when
        page, total, filled = 1, None, False
        while True:
            rows, pagination = await self._page(page, "modifiedAt", after, before)
            total = pagination.total if total is None else total
            if pagination.total != total:
                return False  # the list changed under us: narrow down and read again
            ties = [i for i, row in enumerate(rows) if row.modified_at == when]
            self.found.update((rows[i].order_id, rows[i]) for i in ties)
            if filled:  # the group ran to the end of the last page: did it go on here?
                return not ties
            last_page = page >= pagination.total_pages or not rows
            if not ties:
                if last_page or rows[-1].modified_at < when:
                    return True  # none of the group in this range
                page += 1  # still above the group: this page ended with a newer row
                continue
            if ties != list(range(ties[0], ties[-1] + 1)):
                return False  # not sorted as asked: the list changed under us
            if ties[-1] < len(rows) - 1 or last_page:
                return True
            filled, page = True, page + 1

    async def _by_order_id(self, after: datetime, before: datetime) -> None:
        """Every order created in ``(after, before)``, by orderId (unique: no ties); read
        again from the start when the list shrinks meanwhile (rows would move up past us)."""
        for _ in range(RESTARTS + 1):
            page, total = 1, None
            while True:
                rows, pagination = await self._page(page, "orderId", after, before)
                total = pagination.total if total is None else total
                if pagination.total < total:
                    break
                self.found.update(
                    (row.order_id, row) for row in rows if row.modified_at == self.when
                )
                if not rows or page >= pagination.total_pages:
                    return
                page += 1


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
