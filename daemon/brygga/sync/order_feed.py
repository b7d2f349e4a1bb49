"""The orders discoverer: each shop's order change feed, read in closed windows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from brygga.adapters import ShopAdapter
from brygga.clock import Clock
from brygga.config import OrdersConfig
from brygga.models import Register
from brygga.store import Discovered, Store
from brygga.sync.feed_cursor import next_cursor, window_from
from brygga.sync.shop_changes import CHANGED

__all__ = ["PAGE", "OrderFeed"]

REGISTER = Register.ORDERS.value
#: discovered orders recorded per transaction
PAGE = 200


def _cursor_text(when: datetime) -> str:
    return when.isoformat()


@dataclass
class OrderFeed:
    """Discovers orders in each shop's change feed (one poller per shop)."""

    connection: str
    store: Store
    shops: Mapping[str, ShopAdapter]
    options: OrdersConfig
    clock: Clock
    interval: float = 60.0
    register: str = REGISTER

    @property
    def instances(self) -> Sequence[str]:
        return list(self.shops)

    def _ready(self, status: str) -> bool:
        if status in self.options.cancelled_statuses:
            return True  # the worker records it as nothing-to-do
        return not self.options.ready_statuses or status in self.options.ready_statuses

    async def discover(self, instance: str) -> int:
        """Read one closed window of the shop's change feed; return how many items were new.

        The window is ``[cursor - overlap, now)``; records committed late or seen twice in
        overlapping windows are no-ops. The cursor is the newest change time the shop reported
        (:mod:`brygga.sync.feed_cursor`: a host clock ahead of the shop loses nothing), and
        moves only after every item is recorded.
        """
        shop = self.shops[instance]
        now = self.clock.now()
        stored = await self.store.cursors.get(self.connection, instance, REGISTER)
        previous = position = None if stored is None else datetime.fromisoformat(stored)
        if position is None:
            start = self.options.start_from or now - timedelta(seconds=self.options.lookback)
        else:
            position = window_from(position, now, where=f"{self.connection}/{instance}: orders")
            start = position - timedelta(seconds=self.options.overlap)
        created = 0
        newest: datetime | None = None
        page: list[Discovered] = []
        async for change in shop.changed_orders(start, now):
            ready = self._ready(change.status)
            page.append(Discovered(change.shop_order_id, ready, change.modified_at))
            newest = change.modified_at if newest is None else max(newest, change.modified_at)
            if len(page) >= PAGE:
                created += await self._record(instance, page)
                page = []
        created += await self._record(instance, page)
        cursor = next_cursor(position, newest)
        if cursor is not None and cursor != previous:
            await self.store.cursors.set(
                self.connection, instance, REGISTER, _cursor_text(cursor), self.clock.now()
            )
        await self.store.status.success(self.connection, REGISTER, instance, self.clock.now())
        return created

    async def _record(self, instance: str, page: Sequence[Discovered]) -> int:
        return await self.store.items.enqueue_many(
            connection=self.connection,
            register=REGISTER,
            instance=instance,
            records=page,
            now=self.clock.now(),
            # an order changed after its transfer is looked at (sync/shop_changes.py)
            bound_changes="" if self.options.shop_changes == "ignore" else CHANGED,
        )
