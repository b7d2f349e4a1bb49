"""The client's per-request path: the URL httpx would build, cookies only when a response sets
one, and a free turn at the rate limiter without a trip through the event loop."""

from __future__ import annotations

import http.cookiejar
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

from brygga.clock import FakeClock
from brygga.errors import TransientError
from brygga.http.client import HttpContext, RemoteClient
from brygga.http.ratelimit import RateLimit, RateLimiter

pytestmark = pytest.mark.anyio

BASES = ["https://erp.test", "https://shop.test/api/v2/"]
CALLS: list[tuple[str, dict[str, Any] | None]] = [
    ("customers", None),
    ("/orders/12", None),
    ("orders/12/external-services/brygga", None),
    ("customers", {"filter": "email$eq:ånna+1@example.se", "pagesize": 100, "skippages": 0}),
    ("customers", {"filter": "name$eq:A$(b$) c&d=e?#", "flag": True, "none": None}),
    ("products/a b%2F/ä", None),
    ("customers?pagesize=5", {"skippages": 2, "pagesize": 7}),
    ("customers?pagesize=5", None),
    ("https://other.test/customers?skippages=1", {"pagesize": 20}),
    ("customers", {}),
]


def _client(base_url: str, remote: Callable[[httpx.Request], httpx.Response]) -> RemoteClient:
    context = HttpContext(transport=httpx.MockTransport(remote))
    return RemoteClient(system="s", base_url=base_url, context=context, account="a")


async def test_the_url_sent_is_the_one_httpx_would_build() -> None:
    for base in BASES:
        sent: list[httpx.URL] = []

        def remote(request: httpx.Request, sent: list[httpx.URL] = sent) -> httpx.Response:
            sent.append(request.url)
            return httpx.Response(200, json={})

        client = _client(base, remote)
        reference = httpx.AsyncClient(base_url=base.rstrip("/") + "/")
        try:
            for path, params in CALLS:
                await client.request("GET", path, params=params)
                expected = reference.build_request("GET", path.lstrip("/"), params=params).url
                assert str(sent[-1]) == str(expected), (base, path, params)
        finally:
            await client.aclose()
            await reference.aclose()


async def test_cookies_are_read_only_from_responses_that_set_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    jar_reads: list[str] = []
    real = http.cookiejar.CookieJar.extract_cookies

    def extract(jar: http.cookiejar.CookieJar, response: Any, request: Any) -> None:
        jar_reads.append(request.get_full_url())
        real(jar, response, request)

    monkeypatch.setattr(http.cookiejar.CookieJar, "extract_cookies", extract)

    def remote(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/login":
            return httpx.Response(200, headers={"Set-Cookie": "session=s1; Path=/"})
        return httpx.Response(200, json={})

    client = _client("https://shop.test", remote)
    try:
        await client.request("GET", "orders")
        await client.request("GET", "login")
        assert jar_reads == ["https://shop.test/login"]
        assert client.client.cookies.get("session") == "s1"
        seen: list[str | None] = []
        client.client.event_hooks["request"].append(
            lambda request: _note(seen, request.headers.get("cookie"))
        )
        await client.request("GET", "orders")
        assert seen == ["session=s1"]
        assert jar_reads == ["https://shop.test/login"]
    finally:
        await client.aclose()


async def _note(seen: list[str | None], value: str | None) -> None:
    seen.append(value)


async def test_a_free_turn_at_the_limiter_does_not_yield() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(10, 1.0), clock)
    await limiter.acquire()  # the first request waits one window (a conservative start)
    ran: list[str | None] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(_note, ran, "other task")
        for _ in range(9):
            await limiter.acquire()
        assert ran == []  # nine free turns, and the other task has not run yet
        start = clock.monotonic()
        await limiter.acquire()  # the window is full: this one waits, in the queue
        assert clock.monotonic() > start
        assert ran == ["other task"]


async def test_an_error_names_an_absolute_url_as_it_is() -> None:
    """First-hour QA: a token endpoint on another host read `fortnox POST
    /https://apps.fortnox.se/oauth-v1/token` in the error; a path keeps its leading slash."""

    def remote(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    client = _client("https://erp.test", remote)
    try:
        for path, shown in (
            ("https://auth.test/oauth-v1/token?x=1", "s POST https://auth.test/oauth-v1/token"),
            ("customers?x=1", "s POST /customers"),
        ):
            with pytest.raises(TransientError) as raised:
                await client.request("POST", path)
            assert shown in str(raised.value), str(raised.value)
            assert "/https:" not in str(raised.value)
    finally:
        await client.aclose()
