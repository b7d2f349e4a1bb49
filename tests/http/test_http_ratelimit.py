"""Rate limits: a sliding window per remote account, shared by every client of that account."""

from __future__ import annotations

import httpx
import pytest

from brygga.clock import FakeClock
from brygga.errors import TransientError
from brygga.http.client import HttpContext, RemoteClient, account_key
from brygga.http.ratelimit import RateLimit, RateLimiter, RateLimiterRegistry

pytestmark = pytest.mark.anyio


async def test_sliding_window_admits_n_per_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(25, 5.0), clock)
    starts = []
    for _ in range(60):
        await limiter.acquire()
        starts.append(clock.monotonic())
    # never more than 25 starts in any 5-second window
    for i, start in enumerate(starts):
        assert sum(1 for s in starts[i:] if s < start + 5.0) <= 25
    # the first window waits (a conservative start), then 25 at once, then the next 25
    assert starts[0] == starts[24] == pytest.approx(5.0)
    assert starts[25] == pytest.approx(10.0)


def _most_in_any_window(starts: list[float], seconds: float) -> int:
    ordered = sorted(starts)
    return max(
        sum(1 for s in ordered[i:] if s < start + seconds) for i, start in enumerate(ordered)
    )


async def test_a_restarted_process_never_exceeds_the_limit_with_the_one_it_replaced() -> None:
    # The server counts requests per account, whichever process sent them. A process that used
    # its whole window is killed at t0 and a new one (a new limiter) starts right away.
    clock = FakeClock()
    limit = RateLimit(10, 1.0)
    old = RateLimiter(limit, clock)
    seen_by_server: list[float] = []
    for _ in range(3 * limit.requests):
        await old.acquire()
        seen_by_server.append(clock.monotonic())
    clock.advance(0.01)  # killed just after its last full burst
    restarted = RateLimiter(limit, clock)
    for _ in range(2 * limit.requests):
        await restarted.acquire()
        seen_by_server.append(clock.monotonic())
    assert _most_in_any_window(seen_by_server, limit.per_seconds) <= limit.requests


def test_kept_under_the_published_limit() -> None:
    assert RateLimit(25, 5.0).kept_under() == RateLimit(22, 5.0)
    assert RateLimit(1, 1.0).kept_under().requests == 1


async def test_a_429_slows_the_whole_account() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(100, 1.0), clock)
    await limiter.acquire()
    penalised_at = clock.monotonic()
    limiter.penalise(7.0)
    await limiter.acquire()
    assert clock.monotonic() == pytest.approx(penalised_at + 7.0)


def _server(calls: list[str]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/busy":
            return httpx.Response(429, headers={"Retry-After": "3"})
        return httpx.Response(200, json={"ok": True})

    return httpx.MockTransport(handle)


async def test_clients_of_one_account_share_a_limiter_across_connections() -> None:
    clock = FakeClock()
    calls: list[str] = []
    context = HttpContext(
        limiters=RateLimiterRegistry(clock), clock=clock, transport=_server(calls)
    )
    same = account_key("shop.example", "client-1")
    other = account_key("shop.example", "client-2")
    limit = RateLimit(10, 1.0)  # the published limit is the ceiling (no longer kept under)
    first = RemoteClient(
        system="s", base_url="http://x", context=context, account=same, rate_limit=limit
    )
    second = RemoteClient(
        system="s", base_url="http://x", context=context, account=same, rate_limit=limit
    )
    third = RemoteClient(
        system="s", base_url="http://x", context=context, account=other, rate_limit=limit
    )
    try:
        # a new limiter starts after one window, at half its ceiling, one more per answer
        for _ in range(10):
            await first.request("GET", "/a")
        assert clock.monotonic() == pytest.approx(1.0)
        await second.request("GET", "/a")  # the account's 11th request waits for the window
        assert clock.monotonic() == pytest.approx(2.02)  # (and the limiter's 2 % guard)
        await third.request("GET", "/a")  # another account is not held back
        assert clock.monotonic() == pytest.approx(2.02)
        with pytest.raises(TransientError) as error:
            await first.request("GET", "/busy")
        assert error.value.retry_after == 3.0
        await second.request("GET", "/a")  # the 429 holds the whole account back
        assert clock.monotonic() >= 5.0
    finally:
        for client in (first, second, third):
            await client.aclose()


def test_account_keys_hide_credentials() -> None:
    key = account_key("shop.example", "super-secret-value")
    assert "super-secret-value" not in key and key.startswith("shop.example#")
    assert key == account_key("shop.example", "super-secret-value")
