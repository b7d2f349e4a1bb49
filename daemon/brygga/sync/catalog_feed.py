"""The catalog discoverer: a source's change feed, read in closed windows, queued per target."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from brygga.clock import Clock
from brygga.store import Discovered, Store
from brygga.sync.feed_cursor import next_cursor, window_from

__all__ = ["PAGE", "CatalogFeed", "Feed"]

#: changes recorded per transaction (each is queued once per target)
PAGE = 200

C = TypeVar("C")
#: a source's change feed: what changed in ``[since, until)``
Feed = Callable[[datetime, datetime], AsyncIterator[C]]


@dataclass
class CatalogFeed(Generic[C]):
    """Discovers changed catalog records at each source (one poller per source) and queues
    one item per target: an ERP stock change becomes one item for every shop."""

    connection: str
    register: str
    store: Store
    clock: Clock
    #: source instance → its change feed
    feeds: Mapping[str, Feed[C]]
    #: the instances every change is queued for
    targets: Sequence[str]
    #: one change at a source instance → the record to queue (a reopening record)
    record: Callable[[str, C, datetime], Discovered]
    #: (target, change) → whether the target takes it (e.g. a price list it has mapped);
    #: None: every target takes every change
    accepts: Callable[[str, C], bool] | None = None
    interval: float = 300.0
    #: first run: how far back the feed is read
    lookback: float = 86400.0
    #: how much each poll re-reads of the previous window
    overlap: float = 300.0

    @property
    def instances(self) -> Sequence[str]:
        return list(self.feeds)

    async def discover(self, instance: str) -> int:
        """Read one window ``[cursor - overlap, now)`` of ``instance``'s feed and queue each
        change for every target; the cursor (the newest change time the source reported:
        :mod:`brygga.sync.feed_cursor`) moves after everything is recorded. A change seen
        again (overlap, repeats) reopens nothing unless it is newer."""
        now = self.clock.now()
        stored = await self.store.cursors.get(self.connection, instance, self.register)
        previous = position = None if stored is None else datetime.fromisoformat(stored)
        if position is None:
            start = now - timedelta(seconds=self.lookback)
        else:
            where = f"{self.connection}/{instance}: {self.register}"
            position = window_from(position, now, where=where)
            start = position - timedelta(seconds=self.overlap)
        queued = 0
        newest: datetime | None = None
        page: list[tuple[C, Discovered]] = []
        async for change in self.feeds[instance](start, now):
            record = self.record(instance, change, now)
            page.append((change, record))
            # the source's own change time (a feed without one reports this poll's time)
            seen = record.source_time
            if seen is not None and seen <= now:
                newest = seen if newest is None else max(newest, seen)
            if len(page) >= PAGE:
                queued += await self._queue(page)
                page = []
        queued += await self._queue(page)
        cursor = next_cursor(position, newest)
        if cursor is not None and cursor != previous:
            await self.store.cursors.set(
                self.connection, instance, self.register, cursor.isoformat(), self.clock.now()
            )
        await self.store.status.success(self.connection, self.register, instance, now)
        return queued

    async def _queue(self, page: Sequence[tuple[C, Discovered]]) -> int:
        queued = 0
        for target in self.targets:
            accepts = self.accepts
            records = [r for c, r in page if accepts is None or accepts(target, c)]
            queued += await self.store.items.enqueue_many(
                connection=self.connection,
                register=self.register,
                instance=target,
                records=records,
                now=self.clock.now(),
            )
        return queued
