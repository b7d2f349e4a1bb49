"""The catalog discoverer: a source's change feed, read in closed windows, queued per target."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from brygga.clock import Clock
from brygga.store import Discovered, Store
from brygga.sync.feed_cursor import FeedWindow

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
        window = await FeedWindow.open(
            self.store,
            self.connection,
            instance,
            self.register,
            now=now,
            overlap=self.overlap,
            first=now - timedelta(seconds=self.lookback),
        )
        queued = 0
        page: list[tuple[C, Discovered]] = []
        async for change in self.feeds[instance](window.since, now):
            record = self.record(instance, change, now)
            page.append((change, record))
            # the source's own change time (a feed without one reports this poll's time)
            window.saw(record.source_time)
            if len(page) >= PAGE:
                queued += await self._queue(page)
                page = []
        queued += await self._queue(page)
        await window.close(self.clock.now())
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
