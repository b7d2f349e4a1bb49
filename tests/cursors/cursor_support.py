"""An orders poller on the Starweb simulator with fake clocks, and a change-feed recorder."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio

from brygga.clock import FakeClock
from brygga.commands.common import load
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga.models import OrderChange
from brygga.runtime.actor import build_adapters
from brygga.store import Store, WorkItem
from brygga.store.db import from_ts
from brygga.sync.orders import REGISTER, OrdersFlow
from brygga.testing import RoutingTransport, write_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

SHOP_URL = "http://shop.test/api/v2"
ERP_URL = "http://erp.test"
#: a winter Monday morning; Stockholm is UTC+1
START = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
OVERLAP = 300.0


class SkewedClock:
    """The shop's clock: the daemon's fake clock plus a fixed skew (positive: shop ahead)."""

    def __init__(self, base: FakeClock, skew: float) -> None:
        self.base = base
        self.skew = timedelta(seconds=skew)

    def now(self) -> datetime:
        return self.base.now() + self.skew

    def monotonic(self) -> float:
        return self.base.monotonic()

    async def sleep(self, seconds: float) -> None:
        await self.base.sleep(seconds)


@dataclass
class Window:
    """One ``changed_orders(since, until)`` call and what it yielded, in order."""

    since: datetime
    until: datetime
    changes: list[OrderChange] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        return [c.shop_order_id for c in self.changes]


class RecordingShop:
    """Wraps a shop adapter: records every change-feed window and can cancel a poll just
    before the feed yields its ``cancel_at``-th change (a crash in the middle of a window)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.windows: list[Window] = []
        self.cancel_at: tuple[int, anyio.CancelScope] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        window = Window(since, until)
        self.windows.append(window)
        async with aclosing(self.inner.changed_orders(since, until)) as changes:
            async for change in changes:
                if self.cancel_at is not None and len(window.changes) + 1 == self.cancel_at[0]:
                    self.cancel_at[1].cancel()
                    await anyio.lowlevel.checkpoint()
                window.changes.append(change)
                yield change


@dataclass
class CursorEnv:
    clock: FakeClock
    shop: StarwebSimulator
    erp: EconomicSimulator
    store: Store
    flow: OrdersFlow
    feed: RecordingShop
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    #: order ids in the order they were placed
    placed: list[str] = field(default_factory=list)
    #: what each poll returned (new work items)
    created: list[int] = field(default_factory=list)

    def place(self, count: int = 1) -> list[str]:
        """``count`` orders placed now (shop time), each for one catalog SKU."""
        skus = ["KAFFE-500", "TE-100", "BOK-01", "TROJA-M"]
        ids = []
        for _ in range(count):
            n = len(self.placed)
            ids.append(self.shop.place_order(lines=[(skus[n % 4], 1)], email=f"k{n}@example.se"))
            self.placed.append(ids[-1])
        return ids

    async def poll(self) -> int:
        created = await self.flow.poll_once("se")
        self.created.append(created)
        return created

    async def cursor(self) -> str | None:
        return await self.store.cursors.get("demo", "se", REGISTER)

    async def items(self) -> dict[str, WorkItem]:
        rows = await self.store.items.query(connection="demo", limit=100_000)
        found: dict[str, WorkItem] = {}
        for item in rows:
            if item.register == REGISTER:
                assert item.external_id not in found, f"order {item.external_id} twice"
                found[item.external_id] = item
        return found

    async def minutes(
        self,
        count: int,
        *,
        orders: Callable[[int], int] = lambda minute: 2,
        poll: bool = True,
    ) -> None:
        """``count`` minutes of shop life: each minute some orders at random seconds, then a
        poll at the end of the minute."""
        for minute in range(count):
            offsets = sorted(self.rng.uniform(0, 60) for _ in range(orders(minute)))
            elapsed = 0.0
            for offset in offsets:
                self.clock.advance(offset - elapsed)
                elapsed = offset
                self.place()
            self.clock.advance(60 - elapsed)
            if poll:
                await self.poll()

    def assert_windows_ordered_and_unique(self) -> None:
        """Every window yielded each order once, ascending by (modified_at, id), inside it."""
        for window in self.feed.windows:
            keys = [(c.modified_at, int(c.shop_order_id)) for c in window.changes]
            assert keys == sorted(keys), window
            assert len(set(window.ids)) == len(window.ids), window
            assert all(window.since <= c.modified_at < window.until for c in window.changes)

    async def assert_each_placed_order_enqueued_once(self) -> None:
        items = await self.items()
        missing = sorted(set(self.placed) - set(items), key=int)
        assert not missing, f"orders never enqueued: {missing}"
        assert sorted(items, key=int) == sorted(self.placed, key=int)
        assert sum(self.created) == len(self.placed)  # no order counted as new twice
        for order_id, item in items.items():
            # the feed time recorded is the shop's own instant, converted right
            assert from_ts(item.source_time) <= self.shop.order(order_id).modified_at


@asynccontextmanager
async def open_env(
    tmp_path: Path,
    *,
    start: datetime = START,
    skew: float = 0.0,
    page_size: int = 100,
    overlap: str = "5m",
) -> AsyncIterator[CursorEnv]:
    """The orders poller of one connection on the Starweb simulator (with an e-conomic
    simulator as its ERP), the shop's clock ``skew`` seconds off the daemon's fake clock."""
    clock = FakeClock(start)
    shop = StarwebSimulator(clock=SkewedClock(clock, skew), seed=3, page_size=page_size)
    erp = EconomicSimulator()
    path = write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        erp=erp.adapter_config(ERP_URL),
        shops=[shop.adapter_config(SHOP_URL, name="se")],
        connection={"mode": "erp", "registers": {"price_lists": "off"}},
        sections={"orders": {"overlap": overlap, "lookback": "1h"}},
    )
    loaded, _ = load(path)
    conn = loaded.connections[0]
    http = HttpContext(
        transport=RoutingTransport({"shop.test": shop.app, "erp.test": erp.app}),
        clock=clock,
        # rate-limit waits run on a clock of their own: they must not move the shop's time
        limiters=RateLimiterRegistry(FakeClock()),
    )
    erp_adapter, shops = build_adapters(conn, http)
    feed = RecordingShop(shops["se"])
    store = await Store.open(loaded.state_path)
    flow = OrdersFlow(
        connection=conn.name,
        erp_name=conn.erp.name,
        store=store,
        shops={"se": feed},  # type: ignore[dict-item]
        erp=erp_adapter,
        options=conn.config.orders,
        clock=clock,
        rng=random.Random(0),
        run_id="run-1",
        lookup_by_reference=conn.erp_spec.capabilities.lookup_by_reference,
    )
    try:
        yield CursorEnv(clock=clock, shop=shop, erp=erp, store=store, flow=flow, feed=feed)
    finally:
        await erp_adapter.aclose()
        await feed.inner.aclose()
        await store.close()
