"""The account's rate limiter adapts to the remote (issue 15, "Rate limits" and "Latency").

The published limit is the ceiling (Fortnox: 25 requests per 5 s sliding window per tenant,
429 beyond it, reference/erp-apis.md §2.4); bursts within the window go out at once; a 429
shrinks the allowed count (by a quarter) and pauses the account for its Retry-After (RFC 9110
§10.2.3: delay-seconds or an HTTP date), success grows the count back; a 429 is sent again in
place, a bounded number of times, whatever the method: RFC 6585 §4
(https://www.rfc-editor.org/rfc/rfc6585#section-4) says of 429 that "the server is not
processing the request".
"""

from __future__ import annotations

import json
from datetime import timedelta
from email.utils import format_datetime

import anyio
import httpx
import pytest

from brygga.clock import FakeClock
from brygga.errors import TransientError
from brygga.http.client import HttpContext, RemoteClient
from brygga.http.ratelimit import RateLimit, RateLimiter, RateLimiterRegistry

pytestmark = pytest.mark.anyio

FORTNOX = RateLimit(25, 5.0)


class Api:
    """A remote on the fake clock: answers 200, or 429 for the next ``refuse`` requests (with
    ``retry_after`` as the header when given); records (method, path, body, time)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.refuse = 0
        self.retry_after: str | None = None
        self.seen: list[tuple[str, str, bytes, float]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(
            (request.method, request.url.path, request.content, self.clock.monotonic())
        )
        if self.refuse:
            self.refuse -= 1
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            return httpx.Response(429, headers=headers, json={"error": "rate limited"})
        return httpx.Response(200, json={"ok": True})

    @property
    def times(self) -> list[float]:
        return [when for *_, when in self.seen]


def _setup(
    limit: RateLimit, *, clients: int = 1, retries: int = 3
) -> tuple[FakeClock, Api, list[RemoteClient]]:
    clock = FakeClock()
    api = Api(clock)
    context = HttpContext(
        limiters=RateLimiterRegistry(clock),
        clock=clock,
        transport=httpx.MockTransport(api),
        rate_limit_retries=retries,
    )
    made = [
        RemoteClient(
            system="fortnox",
            base_url="http://api.test/3",
            context=context,
            account="api.test#tenant",
            rate_limit=limit,
        )
        for _ in range(clients)
    ]
    return clock, api, made


def _most_in_any_window(starts: list[float], seconds: float) -> int:
    ordered = sorted(starts)
    return max(
        sum(1 for s in ordered[i:] if s < start + seconds) for i, start in enumerate(ordered)
    )


async def test_the_published_limit_is_the_ceiling() -> None:
    _clock, api, (client,) = _setup(FORTNOX)
    try:
        for _ in range(60):
            await client.request("GET", "customers")
    finally:
        await client.aclose()
    # after the start-up window, all 25 of the window (not 90 % of them) at once, the next 25
    # one window later (plus the 2 % guard: 5.1 s), and never more than 25 in any 5 s
    assert api.times[:25] == [5.0] * 25
    assert api.times[25:50] == pytest.approx([10.1] * 25)
    assert _most_in_any_window(api.times, FORTNOX.per_seconds) == 25


async def test_a_new_account_limiter_starts_at_half_its_ceiling() -> None:
    clock = FakeClock()
    limiter = RateLimiterRegistry(clock).get("acct", FORTNOX)
    starts = []
    for _ in range(13):  # nobody answers yet: the slow start has nothing to grow on
        starts.append(await limiter.acquire())
    assert limiter.allowed == 12
    assert starts[:12] == [5.0] * 12 and starts[12] == pytest.approx(10.1)


async def test_one_orders_calls_go_out_together_when_the_window_has_room() -> None:
    limit = RateLimit(5, 1.0)
    clock, api, (client,) = _setup(limit)
    try:
        for _ in range(5):  # warm: the slow start reaches the ceiling
            await client.request("GET", "warm")
        clock.advance(1.0)
        api.seen.clear()
        # an order with a new customer: five calls started together
        async with anyio.create_task_group() as tg:
            for path in ("customers", "customers", "articles", "invoices", "invoices/1"):
                tg.start_soon(client.request, "GET", path)
    finally:
        await client.aclose()
    assert len(api.times) == 5 and len(set(api.times)) == 1  # one burst, no spacing


async def test_the_guard_keeps_jittery_arrivals_inside_the_servers_window() -> None:
    # the server counts arrivals; the first request travels 100 ms, the 26th 30 ms: without a
    # guard the 26th would arrive 70 ms before the first one left the server's window
    for guard, refused in ((0.0, True), (0.02, False)):
        clock = FakeClock()
        limiter = RateLimiterRegistry(clock, guard=guard).get("acct", FORTNOX)
        starts = []
        for _ in range(26):
            starts.append(await limiter.acquire())
            limiter.succeeded()
        first_arrival, next_arrival = starts[0] + 0.1, starts[25] + 0.03
        assert (next_arrival - first_arrival < FORTNOX.per_seconds) is refused, guard


async def test_a_429_shrinks_the_rate_pauses_for_retry_after_and_success_grows_it_back() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(10, 1.0), clock)  # the full ceiling from the start
    started = await limiter.acquire()
    assert limiter.allowed == 10
    pause = limiter.throttled(3.0, started)
    assert pause == 3.0 and limiter.allowed == 7  # 10 * 0.75
    paused_at = clock.monotonic()
    starts = [await limiter.acquire() for _ in range(8)]
    # nothing before Retry-After, then 7 per window
    assert starts[:7] == [paused_at + 3.0] * 7 and starts[7] == pytest.approx(paused_at + 4.0)
    # additive increase: about one more per window's worth of successes, up to the ceiling
    for _ in range(3):
        limiter.succeeded()
    assert limiter.allowed == 7  # 7.5 + 3 * 1/7.x: not yet 8
    limiter.succeeded()
    assert limiter.allowed == 8
    for _ in range(100):
        limiter.succeeded()
    assert limiter.allowed == 10  # never above the published limit


async def test_429s_of_one_round_in_flight_shrink_the_rate_once() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(16, 1.0), clock)
    in_flight = [await limiter.acquire() for _ in range(4)]
    for started in in_flight:  # all four answered 429 together
        limiter.throttled(None, started)
    assert limiter.allowed == 12 and limiter.decreases == 1 and limiter.throttles == 4
    # without Retry-After the pause is one request's share of the window
    assert limiter.blocked_until == pytest.approx(clock.monotonic() + 1.0 / 16)
    later = await limiter.acquire()
    limiter.throttled(None, later)  # a request sent after the decrease: shrinks again
    assert limiter.allowed == 9 and limiter.decreases == 2


async def test_a_429_is_sent_again_in_place_after_the_pause() -> None:
    _clock, api, (client,) = _setup(FORTNOX)
    try:
        await client.request("GET", "warm")
        api.refuse, api.retry_after = 1, "2"
        response = await client.request("GET", "customers")
    finally:
        await client.aclose()
    assert response.status_code == 200
    refused_at, retried_at = api.times[1], api.times[2]
    assert retried_at == pytest.approx(refused_at + 2.0)


async def test_a_refused_post_is_repeated_with_the_same_body() -> None:
    # RFC 6585 §4: a 429 means the server did not process the request; repeating the POST
    # cannot create the invoice twice
    _clock, api, (client,) = _setup(FORTNOX)
    body = {"Invoice": {"CustomerNumber": "1", "ExternalInvoiceReference1": "brygga:7"}}
    try:
        api.refuse = 1  # no Retry-After: one request's share of the window (5.1 s / 25)
        response = await client.request("POST", "invoices", json=body)
    finally:
        await client.aclose()
    assert response.status_code == 200
    assert [(m, p) for m, p, _, _ in api.seen] == [("POST", "/3/invoices")] * 2
    assert [json.loads(sent) for _, _, sent, _ in api.seen] == [body, body]
    assert api.times[1] == pytest.approx(api.times[0] + 5.1 / 25)


async def test_retry_after_as_an_http_date_is_the_pause() -> None:
    clock, api, (client,) = _setup(FORTNOX)
    try:
        await client.request("GET", "warm")
        api.refuse = 1
        api.retry_after = format_datetime(clock.now() + timedelta(seconds=4), usegmt=True)
        await client.request("GET", "customers")
    finally:
        await client.aclose()
    assert api.times[2] == pytest.approx(api.times[1] + 4.0)


async def test_in_place_retries_are_bounded_then_the_429_is_raised() -> None:
    _clock, api, (client,) = _setup(FORTNOX, retries=3)
    try:
        api.refuse, api.retry_after = 100, "1"
        with pytest.raises(TransientError) as error:
            await client.request("GET", "customers")
    finally:
        await client.aclose()
    assert len(api.seen) == 4  # the request and 3 repeats
    assert error.value.retry_after == 1.0 and "rate limited (429)" in str(error.value)
    assert not error.value.in_doubt


async def test_a_retry_after_longer_than_the_window_is_left_to_the_engine() -> None:
    _clock, api, (client,) = _setup(FORTNOX)
    try:
        api.refuse, api.retry_after = 1, "60"  # a quota, not the window: do not hold a worker
        with pytest.raises(TransientError) as error:
            await client.request("GET", "customers")
        assert len(api.seen) == 1 and error.value.retry_after == 60.0
        await client.request("GET", "customers")  # the whole account still waits it out
    finally:
        await client.aclose()
    assert api.times[1] >= api.times[0] + 60.0


async def test_a_429_to_one_connection_slows_every_connection_of_the_account() -> None:
    clock, api, (first, second) = _setup(RateLimit(10, 1.0), clients=2)
    try:
        for _ in range(10):
            await first.request("GET", "warm")
        clock.advance(1.0)
        api.refuse = 1
        await first.request("GET", "refused-then-sent-again")
        api.seen.clear()
        for _ in range(10):
            await second.request("GET", "other")
    finally:
        await first.aclose()
        await second.aclose()
    # the other connection's next window holds only half the ceiling (plus what it grew)
    assert _most_in_any_window(api.times, 1.0) < 10


async def test_callers_sharing_an_account_are_served_in_turn() -> None:
    clock, _api, clients = _setup(RateLimit(10, 1.0), clients=2)
    served: dict[int, list[float]] = {0: [], 1: []}

    async def busy(index: int, client: RemoteClient) -> None:
        for _ in range(50):
            await client.request("GET", f"c{index}")
            served[index].append(clock.monotonic())

    try:
        async with anyio.create_task_group() as tg:
            for index, client in enumerate(clients):
                tg.start_soon(busy, index, client)
    finally:
        for client in clients:
            await client.aclose()
    # both finish within one window of each other, and each got its share of every window
    assert abs(served[0][-1] - served[1][-1]) <= 1.0
    for end in (3.0, 5.0, 7.0):
        counts = [sum(1 for t in served[i] if t < end) for i in (0, 1)]
        assert abs(counts[0] - counts[1]) <= 1, (end, counts)
