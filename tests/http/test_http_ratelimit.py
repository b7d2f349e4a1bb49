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
    assert starts[24] == 0.0 and starts[25] == pytest.approx(5.0)


def test_kept_under_the_published_limit() -> None:
    assert RateLimit(25, 5.0).kept_under() == RateLimit(22, 5.0)
    assert RateLimit(1, 1.0).kept_under().requests == 1


async def test_a_429_slows_the_whole_account() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(100, 1.0), clock)
    await limiter.acquire()
    limiter.penalise(7.0)
    await limiter.acquire()
    assert clock.monotonic() == pytest.approx(7.0)


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
    limit = RateLimit(10, 1.0)  # kept under: 9 per second
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
        for _ in range(9):
            await first.request("GET", "/a")
        await second.request("GET", "/a")  # the account's 10th request waits for the window
        assert clock.monotonic() == pytest.approx(1.0)
        await third.request("GET", "/a")  # another account is not held back
        assert clock.monotonic() == pytest.approx(1.0)
        with pytest.raises(TransientError) as error:
            await first.request("GET", "/busy")
        assert error.value.retry_after == 3.0
        await second.request("GET", "/a")  # the 429 holds the whole account back
        assert clock.monotonic() >= 4.0
    finally:
        for client in (first, second, third):
            await client.aclose()


def test_account_keys_hide_credentials() -> None:
    key = account_key("shop.example", "super-secret-value")
    assert "super-secret-value" not in key and key.startswith("shop.example#")
    assert key == account_key("shop.example", "super-secret-value")
