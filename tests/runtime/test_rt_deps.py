"""One clock per connection: a test's FakeClock reaches the rate limiters, so nothing sleeps."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from brygga.clock import FakeClock, SystemClock
from brygga.http.client import HttpContext
from brygga.runtime.actor import ActorDeps
from brygga.store import ItemState
from brygga.sync.orders import WRITEBACK
from brygga.testing import SimulatedConnection

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store runs on aiosqlite


#: the limit brygga keeps to when a vendor publishes none (Starweb) or it is not configured
KEPT_UNDER_PER_SECOND = 9


class CountingClock(FakeClock):
    """A FakeClock that adds up what was slept on it."""

    def __init__(self) -> None:
        super().__init__()
        self.slept = 0.0

    async def sleep(self, seconds: float) -> None:
        self.slept += max(0.0, seconds)
        await super().sleep(seconds)


async def test_ten_orders_under_the_published_rate_limit_wait_on_the_fake_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_sleeps: list[float] = []
    system_sleep = SystemClock.sleep

    async def recorded(self: SystemClock, seconds: float) -> None:
        real_sleeps.append(seconds)
        await system_sleep(self, seconds)

    monkeypatch.setattr(SystemClock, "sleep", recorded)
    clock = CountingClock()
    async with SimulatedConnection.open(
        tmp_path,
        shop_options={"seed": 3, "clock": clock},
        erp_options={"clock": clock},
        clock=clock,
    ) as env:
        conn = env.loaded.connections[0]
        # the published limits (Starweb's default, e-conomic's), not lifted for the test
        assert [getattr(cfg, "rate_limit", "?") for cfg in (*conn.shops, conn.erp)] == [None, None]
        ids = [
            env.shop.place_order(
                lines=[("KAFFE-500", 1 + i % 3)], email=f"kund{i}@example.se", freight=Decimal(49)
            )
            for i in range(10)
        ]
        clock.advance(5)  # the orders are in the past when the poll's window ends
        flow = env.flow()
        assert await flow.poll_once("se") == 10
        assert set(await env.drain(flow)) == {ItemState.DONE}
        await env.drain(flow, WRITEBACK)
        assert [env.copies(oid) for oid in ids] == [1] * 10
        busiest = max(len(env.shop.requests), len(env.erp.requests))
    # no wait on the system clock: the limiters (and everything else) ran on the fake one
    assert real_sleeps == []
    # the pace still holds, in fake time: the busier account's requests, at most 9 a second
    # after the limiter's first full window, took at least this long
    assert busiest > 2 * KEPT_UNDER_PER_SECOND
    assert clock.slept >= busiest / KEPT_UNDER_PER_SECOND
    assert clock.monotonic() >= clock.slept


async def test_the_daemons_dependencies_have_one_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    http = HttpContext(clock=clock)
    async with SimulatedConnection.open(tmp_path, clock=clock) as env:
        assert env.clock is clock
        assert env.http.limiters.clock is clock
        deps = ActorDeps(store=env.store, run_id="r", http=http)
        assert deps.clock is clock
