"""One HttpContext, one of each: a TLS context for its clients, one clock for all it builds."""

from __future__ import annotations

import ssl
from typing import Any

import anyio
import httpx
import pytest

from brygga.clock import FakeClock
from brygga.http.client import HttpContext, RemoteClient, account_key
from brygga.http.ratelimit import RateLimit, RateLimiterRegistry
from brygga.http.tokens import TokenCache

pytestmark = pytest.mark.anyio


async def test_a_hundred_clients_load_the_ca_bundle_once(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[ssl.SSLContext] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(self)
        real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    context = HttpContext()
    clients = [
        RemoteClient(
            system="s",
            base_url="https://shop.example",
            context=context,
            account=account_key("shop.example", str(n)),
        )
        for n in range(100)
    ]
    try:
        assert len(loads) == 1
        assert context.ssl_context() is context.ssl_context() is loads[0]
    finally:
        for client in clients:
            await client.aclose()


async def test_a_given_tls_context_is_used_and_a_transport_needs_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mine = ssl.create_default_context()
    assert HttpContext(verify=mine).ssl_context() is mine

    def refuse(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        raise AssertionError("a simulator's transport needs no TLS context")

    monkeypatch.setattr(httpx, "create_ssl_context", refuse)
    context = HttpContext(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    client = RemoteClient(system="s", base_url="https://x", context=context, account="a")
    await client.aclose()
    assert context.verify is None


def test_the_context_clock_is_the_clock_of_its_limiters_and_tokens() -> None:
    clock = FakeClock()
    context = HttpContext(clock=clock)
    assert context.limiters.clock is clock
    assert context.tokens.clock is clock
    # a registry or cache built with a clock of its own keeps it
    own = FakeClock()
    explicit = HttpContext(clock=clock, limiters=RateLimiterRegistry(own), tokens=TokenCache(own))
    assert explicit.limiters.clock is own
    assert explicit.tokens.clock is own


async def test_rate_limit_waits_move_the_fake_clock_instead_of_sleeping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_sleep = anyio.sleep
    slept: list[float] = []

    async def recording(delay: float, *args: Any, **kwargs: Any) -> Any:
        if delay > 0:
            slept.append(delay)
        return await real_sleep(delay, *args, **kwargs)

    monkeypatch.setattr(anyio, "sleep", recording)
    clock = FakeClock()
    calls: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(clock.monotonic())
        return httpx.Response(200)

    context = HttpContext(clock=clock, transport=httpx.MockTransport(answer))
    client = RemoteClient(
        system="s",
        base_url="http://x",
        context=context,
        account="a",
        rate_limit=RateLimit(5, 1.0),  # the published limit is the ceiling
    )
    try:
        for _ in range(10):
            await client.request("GET", "/")
    finally:
        await client.aclose()
    assert slept == []
    # a new limiter waits one window, starts at half its ceiling and grows by one per answer
    # to it: 5 at 1 s, 5 one window (and the limiter's 2 % guard) later
    assert calls == pytest.approx([1.0] * 5 + [2.02] * 5)
