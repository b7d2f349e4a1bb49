"""A rate limiter that starts from what the previous process left (brygga.http.ratelimit).

The server in these tests is a fake that enforces a sliding window of N requests in any T
seconds on the account, across processes (it does not care which one sent), on a FakeClock,
and answers 429 beyond it: the way e-conomic's and Fortnox's simulators gate requests
(reference/erp-apis.md §2.4, Fortnox "25 requests per 5 seconds per tenant",
https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits-for-fortnox-api). A
"process" is one RateLimiterRegistry and its RemoteClient; a restart is a new registry given
what the old one remembered.
"""

from __future__ import annotations

import math

import httpx
import pytest

from brygga.clock import FakeClock
from brygga.errors import TransientError
from brygga.http.client import HttpContext, RemoteClient
from brygga.http.ratelimit import (
    AccountWindow,
    Lease,
    RateLimit,
    RateLimiter,
    RateLimiterRegistry,
)

pytestmark = pytest.mark.anyio

ACCOUNT = "erp.test#0123456789abcdef"
LIMIT = RateLimit(10, 1.0)


class WindowServer:
    """At most ``limit.requests`` arrivals in any ``limit.per_seconds`` (exact), 429 beyond."""

    def __init__(self, clock: FakeClock, limit: RateLimit) -> None:
        self.clock = clock
        self.limit = limit
        self.accepted: list[float] = []
        self.refused: list[float] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        now = self.clock.monotonic()
        recent = [t for t in self.accepted if t > now - self.limit.per_seconds + 1e-9]
        if len(recent) >= self.limit.requests:
            self.refused.append(now)
            return httpx.Response(429)
        self.accepted.append(now)
        return httpx.Response(200, json={"ok": True})

    def most_in_any_window(self) -> int:
        starts = sorted(self.accepted)
        window = self.limit.per_seconds
        return max(
            (
                sum(1 for s in starts[i:] if s < start + window - 1e-9)
                for i, start in enumerate(starts)
            ),
            default=0,
        )


class Process:
    """One daemon process: its own registry (its own limiters) on the shared clock and server."""

    def __init__(self, clock: FakeClock, server: WindowServer, registry: RateLimiterRegistry):
        self.registry = registry
        self.context = HttpContext(
            limiters=registry,
            clock=clock,
            transport=httpx.MockTransport(server.handle),
            rate_limit_retries=0,
        )
        self.client = RemoteClient(
            system="erp",
            base_url="http://erp.test",
            context=self.context,
            account=ACCOUNT,
            rate_limit=LIMIT,
        )

    async def send(self, n: int) -> list[float]:
        """``n`` requests one after the other; when each started (the limiter's clock)."""
        clock = self.context.clock
        started = []
        for _ in range(n):
            await self.client.request("GET", "customers")
            started.append(clock.monotonic())
        return started


def _restarted(clock: FakeClock, server: WindowServer, memory: dict[str, AccountWindow]) -> Process:
    registry = RateLimiterRegistry(clock)
    registry.restore(memory, unknown_until=None)
    return Process(clock, server, registry)


async def test_a_restart_within_the_window_honours_the_previous_process_sends() -> None:
    clock = FakeClock()
    server = WindowServer(clock, LIMIT)
    old = _restarted(clock, server, {})  # a clean slate: starts at once
    await old.send(45)  # several windows, the last one full
    clock.advance(0.3)  # a clean stop and a start, well within the window
    memory = old.registry.changed()
    assert set(memory) == {ACCOUNT} and len(memory[ACCOUNT].sends) > 0

    restarted_at = clock.monotonic()
    new = _restarted(clock, server, memory)
    started = await new.send(30)

    assert server.refused == []  # no burst over the limit, across the restart
    assert server.most_in_any_window() <= LIMIT.requests
    # no blind window: the first request left when the previous process's sends let it
    # (the old limiter waited one whole window from its creation)
    assert started[0] < restarted_at + LIMIT.per_seconds
    assert new.registry.get(ACCOUNT, LIMIT).allowed == old.registry.get(ACCOUNT, LIMIT).allowed


async def test_a_restart_without_memory_of_the_window_would_burst_over_the_limit() -> None:
    # the same restart with the memory thrown away and no wait: the server refuses, which is
    # what the memory (or the old blind window) prevents
    clock = FakeClock()
    server = WindowServer(clock, LIMIT)
    old = _restarted(clock, server, {})
    await old.send(45)
    clock.advance(0.3)
    forgetful = _restarted(clock, server, {})
    with pytest.raises(TransientError):
        await forgetful.send(LIMIT.requests)
    assert server.refused


async def test_a_restart_after_a_clean_stop_with_an_old_record_starts_at_once() -> None:
    clock = FakeClock()
    server = WindowServer(clock, LIMIT)
    old = _restarted(clock, server, {})
    await old.send(25)
    memory = old.registry.changed()
    clock.advance(LIMIT.per_seconds * 3)  # the record is older than one window
    new = _restarted(clock, server, memory)
    at = clock.monotonic()
    started = await new.send(LIMIT.requests)
    assert started == [at] * LIMIT.requests  # all of the window, at once, nothing waited
    assert server.refused == []


async def test_no_record_after_a_clean_stop_means_no_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiterRegistry(clock)
    limiter.restore({}, unknown_until=None)
    at = clock.monotonic()
    await limiter.get(ACCOUNT, LIMIT).acquire()
    assert clock.monotonic() == at


async def test_without_restore_a_new_limiter_still_waits_one_window() -> None:
    # a registry nobody told about earlier processes (the CLI, tests) keeps the old rule
    clock = FakeClock()
    limiter = RateLimiterRegistry(clock, guard=0.0).get(ACCOUNT, LIMIT)
    await limiter.acquire()
    assert clock.monotonic() == pytest.approx(LIMIT.per_seconds)


async def test_a_crash_waits_one_window_after_what_the_record_cannot_prove_and_no_longer() -> None:
    # the crashed process may have sent until 0.4 s ago (the end of its lease): the new
    # limiter waits until one window after that, 0.6 s, not a whole window from now
    clock = FakeClock()
    clock.advance(100.0)
    wall = clock.now().timestamp()
    registry = RateLimiterRegistry(clock, guard=0.0)
    registry.restore({}, unknown_until=wall - 0.4)
    at = clock.monotonic()
    await registry.get(ACCOUNT, LIMIT).acquire()
    assert clock.monotonic() - at == pytest.approx(0.6)


async def test_a_crash_whose_unknown_reaches_beyond_now_waits_one_window_from_now() -> None:
    clock = FakeClock()
    wall = clock.now().timestamp()
    registry = RateLimiterRegistry(clock, guard=0.0)
    registry.restore({}, unknown_until=wall + 60.0)  # a lease far ahead: up to now is unknown
    at = clock.monotonic()
    await registry.get(ACCOUNT, LIMIT).acquire()
    assert clock.monotonic() - at == pytest.approx(LIMIT.per_seconds)


async def test_a_crash_longer_ago_than_one_window_waits_for_nothing() -> None:
    clock = FakeClock()
    wall = clock.now().timestamp()
    registry = RateLimiterRegistry(clock)
    registry.restore({}, unknown_until=wall - 5 * LIMIT.per_seconds)
    at = clock.monotonic()
    await registry.get(ACCOUNT, LIMIT).acquire()
    assert clock.monotonic() == at


async def test_the_sends_of_a_crashed_process_and_its_unknown_both_count() -> None:
    clock = FakeClock()
    wall = clock.now().timestamp()
    # ten sends 0.5 s ago fill the window until +0.5; the unknown ended 0.9 s ago (+0.1)
    memory = {ACCOUNT: AccountWindow(sends=(wall - 0.5,) * 10, unknown_until=wall - 0.9)}
    registry = RateLimiterRegistry(clock, guard=0.0)
    registry.restore(memory, unknown_until=None)
    limiter = registry.get(ACCOUNT, LIMIT)
    at = clock.monotonic()
    await limiter.acquire()
    assert clock.monotonic() - at == pytest.approx(0.5)


async def test_a_retry_after_pause_goes_on_after_a_restart() -> None:
    clock = FakeClock()
    limiter = RateLimiter(LIMIT, clock, memory=AccountWindow())
    await limiter.acquire()
    limiter.throttled(30.0)
    memory = limiter.remember()
    assert memory.paused_until == pytest.approx(clock.now().timestamp() + 30.0)
    clock.advance(10.0)
    restarted = RateLimiter(LIMIT, clock, memory=memory)
    at = clock.monotonic()
    await restarted.acquire()
    assert clock.monotonic() - at == pytest.approx(20.0)


async def test_the_adapted_count_goes_on_only_under_the_same_ceiling() -> None:
    clock = FakeClock()
    memory = AccountWindow(allowed=7.5, slow_start=False, limit=LIMIT)
    same = RateLimiter(LIMIT, clock, start=0.5, memory=memory)
    assert same.allowed == 7
    changed = RateLimiter(RateLimit(20, 1.0), clock, start=0.5, memory=memory)
    assert changed.allowed == 10  # a new ceiling: slow start from half of it


async def test_a_send_in_the_future_counts_as_sent_now() -> None:
    # the wall clock was set back between the two processes: a remembered send "in the
    # future" is counted as made now (never dropped, never earlier than the evidence)
    clock = FakeClock()
    wall = clock.now().timestamp()
    memory = AccountWindow(sends=(wall + 100.0,) * LIMIT.requests)
    limiter = RateLimiter(LIMIT, clock, memory=memory)
    at = clock.monotonic()
    await limiter.acquire()
    assert clock.monotonic() - at == pytest.approx(LIMIT.per_seconds)


async def test_remember_keeps_only_the_last_window_on_the_wall_clock() -> None:
    clock = FakeClock()
    limiter = RateLimiter(LIMIT, clock, memory=AccountWindow())
    await limiter.acquire()
    clock.advance(2.0)
    await limiter.acquire()
    clock.advance(0.25)
    memory = limiter.remember()
    assert memory.sends == (pytest.approx(clock.now().timestamp() - 0.25),)
    assert memory.paused_until is None and memory.limit == LIMIT


async def test_a_request_waits_for_the_lease_and_renews_it_once() -> None:
    clock = FakeClock()
    promised: list[float] = []

    async def renew(until: float) -> None:
        promised.append(until)

    lease = Lease(renew, clock, length=10.0)
    limiter = RateLimiter(LIMIT, clock, memory=AccountWindow(), lease=lease)
    await limiter.acquire()
    await limiter.acquire()
    assert promised == [pytest.approx(clock.now().timestamp() + 10.0)]  # one write for both
    clock.advance(10.0)  # the lease ran out: the next request renews it first
    await limiter.acquire()
    assert len(promised) == 2 and math.isclose(promised[1], clock.now().timestamp() + 10.0)


async def test_no_request_starts_when_the_lease_cannot_be_written() -> None:
    clock = FakeClock()
    server = WindowServer(clock, LIMIT)

    async def broken(until: float) -> None:
        raise OSError("disk full")

    registry = RateLimiterRegistry(clock)
    registry.restore({}, unknown_until=None)
    registry.attach_lease(Lease(broken, clock))
    process = Process(clock, server, registry)
    with pytest.raises(OSError):
        await process.client.request("GET", "customers")
    assert server.accepted == [] and server.refused == []


def test_an_account_window_holds_no_more_than_times_and_counts() -> None:
    fields = set(AccountWindow.__struct_fields__)
    assert fields == {"sends", "paused_until", "unknown_until", "allowed", "slow_start", "limit"}
