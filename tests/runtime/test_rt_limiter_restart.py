"""The daemon's rate limiters across restarts: the state file, the lease, clean stops and crashes
(brygga.runtime.limiterstate with a real store).

The server is a fake enforcing a sliding window of N requests in any T seconds per account on
a FakeClock, whichever process sent them, 429 beyond it (as the e-conomic and Fortnox
simulators gate requests; reference/erp-apis.md §2.4, Fortnox's "25 requests per 5 seconds",
https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits-for-fortnox-api). A
"process" is a registry, its keeper and a client on one state file; a crash is a process left
without its stop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from brygga.clock import FakeClock
from brygga.http.client import HttpContext, RemoteClient
from brygga.http.ratelimit import ACCOUNT_GUARD, RateLimit, RateLimiterRegistry
from brygga.runtime.limiterstate import LimiterKeeper, unknown_until
from brygga.store import LimiterRun, Store

pytestmark = pytest.mark.anyio

ACCOUNT = "erp.test#0123456789abcdef"
LIMIT = RateLimit(10, 1.0)
WINDOW = LIMIT.per_seconds * (1 + ACCOUNT_GUARD)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store runs on aiosqlite


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "state.db") as opened:
        yield opened


class WindowServer:
    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.accepted: list[float] = []
        self.refused: list[float] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        now = self.clock.monotonic()
        recent = [t for t in self.accepted if t > now - LIMIT.per_seconds + 1e-9]
        if len(recent) >= LIMIT.requests:
            self.refused.append(now)
            return httpx.Response(429)
        self.accepted.append(now)
        return httpx.Response(200, json={"ok": True})

    def most_in_any_window(self) -> int:
        s = sorted(self.accepted)
        counts = [
            sum(1 for x in s[i:] if x < t + LIMIT.per_seconds - 1e-9) for i, t in enumerate(s)
        ]
        return max(counts, default=0)


class Process:
    def __init__(self, clock: FakeClock, server: WindowServer, keeper: LimiterKeeper) -> None:
        self.clock = clock
        self.keeper = keeper
        context = HttpContext(
            limiters=keeper._registry,
            clock=clock,
            transport=httpx.MockTransport(server.handle),
            rate_limit_retries=0,
        )
        self.client = RemoteClient(
            system="erp",
            base_url="http://erp.test",
            context=context,
            account=ACCOUNT,
            rate_limit=LIMIT,
        )

    @classmethod
    async def start(
        cls, store: Store, clock: FakeClock, server: WindowServer, run: str, lease: float = 10.0
    ) -> Process:
        registry = RateLimiterRegistry(clock)
        keeper = await LimiterKeeper.start(store.limiters, registry, clock, run, lease=lease)
        return cls(clock, server, keeper)

    async def send(self, n: int) -> list[float]:
        started = []
        for _ in range(n):
            await self.client.request("GET", "customers")
            started.append(self.clock.monotonic())
        return started


async def test_a_restart_after_a_clean_stop_within_the_window_honours_its_sends(
    store: Store,
) -> None:
    clock = FakeClock()
    server = WindowServer(clock)
    old = await Process.start(store, clock, server, "a")
    await old.send(40)
    assert await old.keeper.save()  # while busy
    await old.send(10)
    clock.advance(0.2)
    await old.keeper.stop()

    restarted_at = clock.monotonic()
    new = await Process.start(store, clock, server, "b")
    started = await new.send(30)
    assert server.refused == []
    assert server.most_in_any_window() <= LIMIT.requests
    # no blind window: the first request left as soon as the remembered sends allowed it
    assert started[0] < restarted_at + WINDOW
    assert started[0] == pytest.approx(server.accepted[-31 - 9] + WINDOW)


async def test_a_restart_after_a_clean_stop_starts_without_waiting(store: Store) -> None:
    clock = FakeClock()
    server = WindowServer(clock)
    old = await Process.start(store, clock, server, "a")
    await old.send(25)
    await old.keeper.stop()
    clock.advance(5.0)  # the record is older than one window
    new = await Process.start(store, clock, server, "b")
    at = clock.monotonic()
    assert await new.send(LIMIT.requests) == [at] * LIMIT.requests
    assert server.refused == []


async def test_the_first_daemon_on_a_new_state_file_does_not_wait(store: Store) -> None:
    clock = FakeClock()
    process = await Process.start(store, clock, WindowServer(clock), "a")
    at = clock.monotonic()
    assert (await process.send(1)) == [at]


async def test_a_crash_mid_window_waits_only_until_one_window_after_its_lease(
    store: Store,
) -> None:
    clock = FakeClock()
    server = WindowServer(clock)
    crashed = await Process.start(store, clock, server, "a", lease=1.0)
    await crashed.send(10)  # its first request wrote a lease for 1 s: nothing after it
    clock.advance(1.5)  # it crashed (no stop); a new process starts 1.5 s after the lease began
    new = await Process.start(store, clock, server, "b")
    at = clock.monotonic()
    started = await new.send(10)
    # unknown until the lease's end (0.5 s ago): one window after that, not one from now
    assert started[0] - at == pytest.approx(WINDOW - 0.5)
    assert server.refused == [] and server.most_in_any_window() <= LIMIT.requests


async def test_a_crash_while_busy_waits_one_window(store: Store) -> None:
    clock = FakeClock()
    server = WindowServer(clock)
    crashed = await Process.start(store, clock, server, "a")
    await crashed.send(10)
    clock.advance(0.1)  # crashed inside its lease: it may have sent until now
    new = await Process.start(store, clock, server, "b")
    at = clock.monotonic()
    started = await new.send(10)
    assert started[0] - at == pytest.approx(WINDOW)
    assert server.refused == []


async def test_a_crash_after_a_quiet_spell_longer_than_the_lease_waits_for_nothing(
    store: Store,
) -> None:
    clock = FakeClock()
    server = WindowServer(clock)
    crashed = await Process.start(store, clock, server, "a", lease=2.0)
    await crashed.send(10)
    await crashed.keeper.save()
    clock.advance(30.0)  # quiet, then killed
    new = await Process.start(store, clock, server, "b")
    at = clock.monotonic()
    assert await new.send(3) == [at] * 3


async def test_a_wait_inherited_from_a_crash_survives_a_clean_stop_before_it_ended(
    store: Store,
) -> None:
    clock = FakeClock()
    server = WindowServer(clock)
    crashed = await Process.start(store, clock, server, "a")
    await crashed.send(10)
    crash = clock.monotonic()
    clock.advance(0.1)
    short = await Process.start(store, clock, server, "b")  # inherits "unknown until now"
    clock.advance(0.1)
    await short.keeper.stop()  # stopped cleanly without a request
    clock.advance(0.1)
    third = await Process.start(store, clock, server, "c")
    started = await third.send(1)
    assert started[0] == pytest.approx(crash + 0.1 + WINDOW)
    assert server.refused == []


async def test_the_first_request_after_a_quiet_spell_renews_the_lease_first(store: Store) -> None:
    clock = FakeClock()
    process = await Process.start(store, clock, WindowServer(clock), "a", lease=5.0)
    run = (await store.limiters.load()).run
    assert run is not None and run.lease_until == 0.0  # no request may start yet
    await process.send(1)
    run = (await store.limiters.load()).run
    assert run is not None and run.lease_until == pytest.approx(clock.now().timestamp() + 5.0)
    assert process.keeper.lease.renewals == 1
    await process.keeper.save()  # busy: the save extends the lease, no renewal needed
    await process.send(1)
    assert process.keeper.lease.renewals == 1
    clock.advance(6.0)
    await process.send(1)
    assert process.keeper.lease.renewals == 2


async def test_a_save_with_nothing_new_writes_nothing(store: Store) -> None:
    clock = FakeClock()
    process = await Process.start(store, clock, WindowServer(clock), "a")
    await process.send(3)
    assert await process.keeper.save() is True
    version = await store.db.data_version()
    assert await process.keeper.save() is False
    assert process.keeper.saves == 1
    assert await store.db.data_version() == version


def test_what_is_unknown_after_each_kind_of_stop() -> None:
    def run(lease: float, stopped: bool, inherited: float | None = None) -> LimiterRun:
        from datetime import UTC, datetime

        at = datetime(2026, 1, 1, tzinfo=UTC)
        return LimiterRun("r", at, lease, inherited, at if stopped else None)

    assert unknown_until(None, 100.0) == 100.0  # no mark: an older brygga, maybe just now
    assert unknown_until(run(150.0, stopped=True), 100.0) is None
    assert unknown_until(run(150.0, stopped=True, inherited=99.0), 100.0) == 99.0
    assert unknown_until(run(150.0, stopped=False), 100.0) == 100.0  # lease beyond now
    assert unknown_until(run(90.0, stopped=False), 100.0) == 90.0
    assert unknown_until(run(90.0, stopped=False, inherited=95.0), 100.0) == 95.0
