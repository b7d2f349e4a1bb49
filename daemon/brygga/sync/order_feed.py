"""The orders discoverer: each shop's order change feed, read in closed windows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from brygga.adapters import ShopAdapter
from brygga.clock import Clock
from brygga.config import OrdersConfig
from brygga.errors import BryggaError
from brygga.models import Register
from brygga.store import Discovered, Store
from brygga.sync.feed_cursor import FeedWindow
from brygga.sync.shop_changes import CHANGED

__all__ = ["PAGE", "OrderFeed"]

REGISTER = Register.ORDERS.value
#: discovered orders recorded per transaction
PAGE = 200


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

    def _ready(self, instance: str, status: str) -> bool:
        if status in self.options.cancelled_in(instance):
            return True  # the worker records it as nothing-to-do
        ready = self.options.ready_in(instance)
        return not ready or status in ready

    async def discover(self, instance: str) -> int:
        """Read one closed window of the shop's change feed; return how many items were new.

        The window is ``[cursor - overlap, now)``; records committed late or seen twice in
        overlapping windows are no-ops. The cursor is the newest change time the shop reported
        (:mod:`brygga.sync.feed_cursor`: a host clock ahead of the shop loses nothing), and
        moves only after every item is recorded.
        """
        shop = self.shops[instance]
        now = self.clock.now()
        lookback = now - timedelta(seconds=self.options.lookback)
        window = await FeedWindow.open(
            self.store,
            self.connection,
            instance,
            REGISTER,
            now=now,
            overlap=self.options.overlap,
            first=self.options.start_from or lookback,
        )
        created = 0
        page: list[Discovered] = []
        try:
            async for change in shop.changed_orders(window.since, window.until):
                ready = self._ready(instance, change.status)
                page.append(Discovered(change.shop_order_id, ready, change.modified_at))
                window.saw(change.modified_at)
                if len(page) >= PAGE:
                    created += await self._record(instance, page)
                    page = []
        except BryggaError:
            # what the feed yielded before it broke is recorded (recording is idempotent; a
            # shop that keeps pushed orders yields them before a failing read of the rest),
            # the cursor stays, and the poller reports the failure
            await self._record(instance, page)
            raise
        created += await self._record(instance, page)
        await window.close(self.clock.now())
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
