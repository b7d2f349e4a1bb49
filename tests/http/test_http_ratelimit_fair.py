"""The account's turns are shared round-robin over connections, not over waiting tasks (issue
[9/9] "Benchmarks at scale", rate limits: "share the account's limit fairly across connections
on one account").

A connection with many workers waiting used to get a turn for each of them before a connection
that queued one request after them (an anyio lock serves its waiters in arrival order). Now the
next free turn goes to the connection that has a request waiting and was served least recently;
within a connection, requests keep their arrival order.
"""

from __future__ import annotations

import anyio
import httpx
import pytest

from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.http.client import HttpContext, RemoteClient
from brygga.http.ratelimit import AccountWindow, RateLimit, RateLimiter, RateLimiterRegistry

pytestmark = pytest.mark.anyio

LIMIT = RateLimit(2, 1.0)


class HeldClock(FakeClock):
    """A fake clock whose ``sleep`` waits until the test moves the time past its end, so
    requests can be made to queue while the window is full."""

    def __init__(self) -> None:
        super().__init__()
        self._moved = anyio.Event()

    def advance(self, seconds: float) -> None:
        super().advance(seconds)
        moved, self._moved = self._moved, anyio.Event()
        moved.set()

    async def sleep(self, seconds: float) -> None:
        until = self.monotonic() + max(0.0, seconds)
        while self.monotonic() < until:
            await self._moved.wait()


def _limiter(clock: FakeClock, limit: RateLimit = LIMIT) -> RateLimiter:
    # a memory (empty: a clean stop) lets it start at once, at the whole ceiling
    return RateLimiter(limit, clock, memory=AccountWindow())


async def _queue(
    limiter: RateLimiter, tg: anyio.abc.TaskGroup, turns: list[str], *requests: tuple[str, str]
) -> None:
    """Start one waiting request per (connection, label), in this order, each queued before
    the next arrives; a request notes its label in ``turns`` when it gets its turn."""

    async def one(group: str | None, label: str) -> None:
        await limiter.acquire(group)
        turns.append(label)

    for group, label in requests:
        tg.start_soon(one, group or None, label)
        await anyio.wait_all_tasks_blocked()


async def _move(clock: HeldClock, seconds: float, steps: int) -> None:
    for _ in range(steps):
        clock.advance(seconds)
        await anyio.wait_all_tasks_blocked()


async def test_a_connection_queued_after_another_gets_the_next_turn() -> None:
    clock = HeldClock()
    limiter = _limiter(clock)
    turns: list[str] = []
    await limiter.acquire("A")
    await limiter.acquire("A")  # the window is full, A has just been served
    async with anyio.create_task_group() as tg:
        await _queue(limiter, tg, turns, *[("A", f"A{i}") for i in range(1, 7)])
        await _queue(limiter, tg, turns, ("B", "B1"))  # B arrives after A's six
        assert turns == []
        await _move(clock, 1.0, 1)
        # the first free turn is B's; A's other turn of that window is its first in line
        assert turns == ["B1", "A1"]
        await _move(clock, 1.0, 3)
    # A's requests keep their order among themselves
    assert turns == ["B1", "A1", "A2", "A3", "A4", "A5", "A6"]


async def test_turns_go_round_robin_over_the_connections_that_wait() -> None:
    clock = HeldClock()
    limiter = _limiter(clock)
    turns: list[str] = []
    await limiter.acquire("A")
    await limiter.acquire("B")
    async with anyio.create_task_group() as tg:
        await _queue(limiter, tg, turns, *[("A", f"A{i}") for i in range(1, 6)])
        await _queue(limiter, tg, turns, *[("B", f"B{i}") for i in range(1, 4)])
        await _queue(limiter, tg, turns, ("", "-1"), ("", "-2"))  # no connection: one group
        await _queue(limiter, tg, turns, ("C", "C1"))
        await _move(clock, 1.0, 6)
    # never served first (no connection, C: in arrival order), then A and B by their last turn
    assert turns == ["-1", "C1", "A1", "B1", "-2", "A2", "B2", "A3", "B3", "A4", "A5"]


async def test_a_connection_with_one_worker_gets_half_the_turns_beside_one_with_four() -> None:
    clock = FakeClock()
    limiter = RateLimiterRegistry(clock, guard=0.0).get("acct", RateLimit(10, 1.0))
    started: dict[str, list[float]] = {"busy": [], "quiet": []}

    async def worker(connection: str, requests: int) -> None:
        for _ in range(requests):
            started[connection].append(await limiter.acquire(connection))
            limiter.succeeded()
            await anyio.lowlevel.checkpoint()  # the request: answered at once

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(worker, "busy", 50)
        tg.start_soon(worker, "quiet", 50)
    # in every window the quiet connection, always waiting with its one worker, gets as many
    # turns as the busy one (the task-fair order gave it one in five)
    for window in range(2, 9):
        counts = {
            name: sum(1 for t in times if window <= t < window + 1)
            for name, times in started.items()
        }
        assert counts == {"busy": 5, "quiet": 5}, (window, counts)


async def test_a_cancelled_request_passes_the_handing_out_of_turns_on() -> None:
    clock = HeldClock()
    limiter = _limiter(clock)
    turns: list[str] = []
    await limiter.acquire("A")
    await limiter.acquire("A")
    async with anyio.create_task_group() as tg:
        scope = anyio.CancelScope()

        async def cancelled() -> None:
            with scope:  # the first to wait: it sleeps for the window and hands out turns
                await limiter.acquire("B")
                turns.append("B1")

        tg.start_soon(cancelled)
        await anyio.wait_all_tasks_blocked()
        await _queue(limiter, tg, turns, ("A", "A1"), ("C", "C1"))
        scope.cancel()
        await anyio.wait_all_tasks_blocked()
        await _move(clock, 1.0, 1)
    # the others were served when the window had room, B's turn went to them
    assert turns == ["C1", "A1"]
    assert clock.monotonic() == pytest.approx(1.0)


async def test_the_adapters_of_a_connection_take_their_turns_as_that_connection() -> None:
    clock = FakeClock()
    http = HttpContext(clock=clock, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    bound = AdapterContext("butiken", "se", http).http
    assert (bound.connection, http.connection) == ("butiken", None)
    # everything else is the one context of the process
    assert bound.limiters is http.limiters and bound.tokens is http.tokens
    assert bound.shared is http.shared and bound.clock is clock
    assert bound.transport is http.transport
    assert AdapterContext("butiken", "erp", bound).http is bound

    seen: list[str | None] = []

    class Spy(RateLimiter):
        async def acquire(self, group: str | None = None) -> float:
            seen.append(group)
            return await super().acquire(group)

    http.limiters._limiters["acct"] = Spy(RateLimit(10, 1.0), clock, memory=AccountWindow())
    for context in (bound, http):
        client = RemoteClient(
            system="s", base_url="http://x", context=context, account="acct", rate_limit=LIMIT
        )
        try:
            await client.request("GET", "/a")
        finally:
            await client.aclose()
    assert seen == ["butiken", None]


def test_connections_share_one_tls_context() -> None:
    http = HttpContext()
    first = http.for_connection("a")
    second = http.for_connection("b")
    assert first.ssl_context() is second.ssl_context() is http.ssl_context()
