"""A daemon and a visiting ``brygga sync products`` on one state file share an account's rate
limit (brygga.runtime.limiterstate: every save exchanges the account windows with the state
file; a limiter counts the other process's sends and keeps to half of the count while the other
is active, to one per window until it knows the other counts its sends).

The vendor counts every request of the account in a sliding window, whichever process sent it:
Fortnox's "25 requests per 5 seconds" per tenant (reference/erp-apis.md §2.4,
https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits-for-fortnox-api), the
e-conomic and Fortnox simulators' gates. Two "processes" are two registries, each with its own
store connection on one temp state file, on one virtual clock: time moves only when every task
waits (and never while a store call runs on aiosqlite's thread), so the figures do not depend
on the machine's speed.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from brygga.clock import FakeClock
from brygga.http.ratelimit import RateLimit, RateLimiter, RateLimiterRegistry
from brygga.runtime.limiterstate import SAVE_EVERY, LimiterKeeper, visiting_limiters
from brygga.store import SavedWindow, Store

pytestmark = pytest.mark.anyio

ACCOUNT = "erp.test#0123456789abcdef"
#: save intervals a send of one process may take to show in the other (see limiterstate)
LAG = 3.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store runs on aiosqlite


class VirtualClock:
    """A :class:`brygga.clock.Clock` whose time moves only when every task waits: ``sleep``
    parks the caller until :meth:`run` moves the time to its wake-up. While a store call runs
    (``busy``) the time stands still: a write takes no virtual time."""

    def __init__(self) -> None:
        self._mono = 0.0
        self._start = datetime(2026, 1, 1, tzinfo=UTC)
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._seq = itertools.count()
        self.busy = 0

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._mono)

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        event = anyio.Event()
        when = self._mono + max(seconds, 1e-6)
        heapq.heappush(self._sleepers, (when, next(self._seq), event))
        await event.wait()

    async def run(self) -> None:
        while True:
            await _all_blocked()
            if self.busy or not self._sleepers:
                await anyio.sleep(0.0005)  # a store call on its thread, or a lock
                continue
            self._mono = max(self._mono, self._sleepers[0][0])
            while self._sleepers and self._sleepers[0][0] <= self._mono:
                heapq.heappop(self._sleepers)[2].set()


async def _all_blocked() -> None:
    """Return once every other task waits on something (anyio's wait_all_tasks_blocked sleeps
    0.1 s whenever one is still running, which makes a run of many steps take seconds)."""
    this = asyncio.current_task()
    while True:
        await asyncio.sleep(0)
        waiting = (
            task is this or (task._fut_waiter is not None and not task._fut_waiter.done())  # type: ignore[attr-defined]
            for task in asyncio.all_tasks()
        )
        if all(waiting):
            return


class Timeless:
    """A LimiterStore whose calls take no virtual time (the clock waits for them)."""

    def __init__(self, inner: Any, clock: VirtualClock) -> None:
        self._inner = inner
        self._clock = clock

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._inner, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            self._clock.busy += 1
            try:
                return await method(*args, **kwargs)
            finally:
                self._clock.busy -= 1

        return call


@asynccontextmanager
async def stores(path: Path, clock: VirtualClock) -> AsyncIterator[tuple[Any, Any]]:
    """Two connections on one state file: the daemon's and the visitor's."""
    async with await Store.open(path) as daemon, await Store.open(path) as visitor:
        yield Timeless(daemon.limiters, clock), Timeless(visitor.limiters, clock)


def most_in_any_window(sends: Sequence[float], window: float, since: float = 0.0) -> int:
    """The most sends the vendor sees in any ``window`` seconds starting at or after ``since``
    (a request counts when it starts; the ones that begin a window are enough to look at)."""
    ordered = sorted(sends)
    most = 0
    for i, start in enumerate(ordered):
        if start < since:
            continue
        most = max(most, sum(1 for t in ordered[i:] if t < start + window - 1e-9))
    return most


async def send_until(
    limiter: RateLimiter, clock: VirtualClock, until: float, log: list[float]
) -> None:
    """As fast as the limiter allows (every request answered without a 429), every turn taken
    in ``log``."""
    while clock.monotonic() < until:
        await limiter.acquire()
        log.append(clock.monotonic())
        limiter.succeeded()


async def test_both_processes_sending_flat_out_keep_together_to_the_limit(tmp_path: Path) -> None:
    limit = RateLimit(10, 1.0)
    clock = VirtualClock()
    daemon_sends: list[float] = []
    visitor_sends: list[float] = []
    visitor_from, visitor_to, end = 5.0, 45.0, 65.0
    async with (
        stores(tmp_path / "state.db", clock) as (daemon_store, visitor_store),
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(clock.run)
        registry = RateLimiterRegistry(clock)
        keeper = await LimiterKeeper.start(daemon_store, registry, clock, "daemon")

        async def daemon() -> None:
            async with anyio.create_task_group() as inner:
                inner.start_soon(keeper.run)
                await send_until(registry.get(ACCOUNT, limit), clock, end, daemon_sends)
                inner.cancel_scope.cancel()
            await keeper.stop()

        async def visitor() -> None:
            await clock.sleep(visitor_from)
            visiting = RateLimiterRegistry(clock)
            async with visiting_limiters(visitor_store, visiting, clock):
                await send_until(visiting.get(ACCOUNT, limit), clock, visitor_to, visitor_sends)

        async with anyio.create_task_group() as work:
            work.start_soon(daemon)
            work.start_soon(visitor)
        tg.cancel_scope.cancel()

    both = daemon_sends + visitor_sends
    assert daemon_sends and visitor_sends
    # until the visitor came, the daemon had the whole limit
    assert most_in_any_window(daemon_sends, limit.per_seconds) == limit.requests
    # the lag (a send shows in the other process up to two save intervals later) adds at most
    # the one request per window a process sends until it knows the other counts its sends
    assert most_in_any_window(both, limit.per_seconds) <= limit.requests + 1
    # once both count each other's sends (a few save intervals), never more than the limit
    settled = visitor_from + 10.0
    assert most_in_any_window(both, limit.per_seconds, since=settled) <= limit.requests
    # neither starves, and together they use the limit
    shared = [t for t in both if settled <= t < visitor_to]
    daemon_share = sum(1 for t in daemon_sends if settled <= t < visitor_to) / len(shared)
    assert 0.3 <= daemon_share <= 0.7, daemon_share
    capacity = (visitor_to - settled) / limit.per_seconds * limit.requests
    assert len(shared) >= 0.8 * capacity, (len(shared), capacity)
    # the margin lasts only while the other is active: one window and the lag after the
    # visitor's last send, the daemon has the whole limit again
    alone = visitor_to + limit.per_seconds + LAG * SAVE_EVERY + 1.0
    assert alone < end - 5.0
    assert most_in_any_window(daemon_sends, limit.per_seconds, since=alone) == limit.requests


async def test_a_daemon_quiet_during_a_visitors_burst_waits_for_its_window(tmp_path: Path) -> None:
    limit = RateLimit(25, 5.0)  # Fortnox: one window outlasts a save interval
    clock = VirtualClock()
    async with (
        stores(tmp_path / "state.db", clock) as (daemon_store, visitor_store),
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(clock.run)
        registry = RateLimiterRegistry(clock)
        keeper = await LimiterKeeper.start(daemon_store, registry, clock, "daemon")
        tg.start_soon(keeper.run)
        daemon = registry.get(ACCOUNT, limit)
        await daemon.acquire()
        daemon.succeeded()
        await clock.sleep(3.0)  # saved while busy
        saves = keeper.saves
        await clock.sleep(20.0)  # quiet: nothing written
        assert keeper.saves == saves

        burst: list[float] = []
        visiting = RateLimiterRegistry(clock)
        async with visiting_limiters(visitor_store, visiting, clock):
            visitor = visiting.get(ACCOUNT, limit)
            # the daemon was quiet for longer than a window and its lease: at once, and the
            # whole count
            while len(burst) < max(visitor.allowed, daemon.allowed):
                await visitor.acquire()
                burst.append(clock.monotonic())
            assert burst[-1] == burst[0]
            await clock.sleep(3.0)  # the visitor has saved its sends since
            resumed = clock.monotonic()
            await daemon.acquire()
            started = clock.monotonic()
        tg.cancel_scope.cancel()
        await keeper.stop()
    # the visitor's window filled the account: the daemon waited for it to pass
    assert resumed < burst[0] + limit.per_seconds
    assert started >= burst[0] + limit.per_seconds


async def test_an_exchange_tells_the_others_sends_from_its_own(tmp_path: Path) -> None:
    # a send is the number its process wrote: the others' are the stored ones less those, as a
    # multiset (two sends at one instant stay two), read and written in one transaction
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    t = now.timestamp()

    def window(*sends: float, allowed: float = 10.0) -> SavedWindow:
        return SavedWindow(ACCOUNT, tuple(sends), None, allowed, False, 10, 1.0)

    async with (
        await Store.open(tmp_path / "state.db") as daemon,
        await Store.open(tmp_path / "state.db") as visitor,
    ):
        await daemon.limiters.begin("d", now, unknown_until=None)
        read = await daemon.limiters.exchange(
            [window(t - 0.5, t - 0.5)], {}, now, lease_until=t + 10.0
        )
        assert read.windows == {}
        read = await visitor.limiters.exchange(
            [window(t - 0.5, allowed=6.0)], {}, now, keep_count=False
        )
        assert read.windows[ACCOUNT].sends == (t - 0.5, t - 0.5)  # the daemon's two
        stored = (await daemon.limiters.load()).windows[ACCOUNT]
        assert stored.sends == (t - 0.5,) * 3 and stored.allowed == 6.0  # the smaller count
        read = await daemon.limiters.exchange(
            [window(t - 0.25)], {ACCOUNT: (t - 0.5, t - 0.5)}, now
        )
        assert read.windows[ACCOUNT].sends == (t - 0.5,)  # the visitor's one
        memory = await visitor.limiters.load()
        assert memory.windows[ACCOUNT].sends == (t - 0.5, t - 0.25)
        assert memory.windows[ACCOUNT].allowed == 10.0  # the daemon's own count
        assert memory.run is not None and memory.run.lease_until == t + 10.0


async def test_a_daemon_restarted_alone_is_not_held_to_a_share(tmp_path: Path) -> None:
    # the sends a restarted daemon finds are its predecessor's (before its clean stop): they
    # count in the window, but nobody else is running, so no margin is kept
    limit = RateLimit(10, 1.0)
    clock = FakeClock()
    async with await Store.open(tmp_path / "state.db") as store:
        old = await LimiterKeeper.start(store.limiters, RateLimiterRegistry(clock), clock, "a")
        limiter = old._registry.get(ACCOUNT, limit)
        for _ in range(30):
            await limiter.acquire()
            limiter.succeeded()
        await old.stop()
        clock.advance(0.2)
        registry = RateLimiterRegistry(clock)
        new = await LimiterKeeper.start(store.limiters, registry, clock, "b")
        limiter = registry.get(ACCOUNT, limit)
        started = []
        for _ in range(3 * limit.requests):
            await limiter.acquire()
            started.append(clock.monotonic())
        await new.stop()
    assert most_in_any_window(started, limit.per_seconds) == limit.requests
