"""Rate limits: how much of a vendor's sliding-window limit brygga uses, and what it costs to wait.

A tiny simulator (an ASGI app) enforces a real sliding window, 25 requests in any 5 s per
account with 429 beyond it, the way the Fortnox simulator's gate does (documented for Fortnox,
reference/erp-apis.md §2.4; its 429 carries no Retry-After, like the simulator's). Callers send
their requests through :class:`brygga.http.client.RemoteClient`, so the account's limiter, the
429 handling and the client's retries are the code measured. Everything runs on one virtual
clock shared by the limiter and the app: a sleep parks the task until every task is blocked,
then the clock jumps to the next wake-up, so 60 s of simulated time take well under a second
and every run gives the same figures.

Scenarios:

- ``saturated``: C callers on one connection, each sending requests back to back for D seconds
  (far more than the limit allows);
- ``shared``: 3 connections (clients) on one account, 4 callers each, back to back: each
  connection's share of what was accepted (fairness);
- ``orders``: orders arriving at random (a Poisson stream at 60 % of the limit), each 5
  requests one after the other (an order with a new customer): how long an order waits;
- ``jitter``: as ``saturated``, with a latency of 20-150 ms per request, so the server counts
  a request later than the client did; where the limiter has a ``guard``, once with the
  limiter's window exact (``jitter, guard 0``) and once with its default guard;
- ``restart``: as ``saturated``, but half-way the process is replaced (new limiters, new
  clients) after a clean stop: where the code measured has it, the new limiters are given the
  old ones' memory (``RateLimiterRegistry.restore``, what the daemon's state file keeps);
  ``restart, forgot`` the same with the memory thrown away and no blind wait (what the memory
  prevents: 429s). Figures: the seconds from the restart to the first accepted request and
  the 429s answered from one window before to two after it;
- ``lower``: as ``saturated``, but the server allows 20 per 5 s while the adapter publishes
  25 (the vendor lowered it, or another integration uses the account all the time): the 429s,
  and how much of the server's real limit the limiter finds by shrinking and growing back.
- ``--visitor`` (only these): a daemon-like process (its limiters kept in a state file,
  ``LimiterKeeper``) and a ``brygga sync products``-like one (``visiting_limiters``) on one
  temp state file, each with 4 callers back to back on one account, the visitor from 10 % to
  80 % of the run; at 25 per 5 s (Fortnox) and 10 per 1 s (a window shorter than a save
  interval). Figures while both run: use of the limit, 429s and each process's share. Store
  calls take no virtual time (the clock waits for them).

Figures per scenario: requests sent (arrived at the app), 429s answered, accepted requests,
use of the limit (accepted / the server's window capacity over the time measured: the whole run, and
from the first accepted request on, i.e. without the limiter's start-up window), errors raised
to the caller (a 429 the client gave up on: a work item retry in the daemon; the caller then
waits the Retry-After or one window and sends again), p50/p95/max of the wait (from the call
to the arrival of the request that was accepted), and per connection its share.

::

    .venv/bin/python benchmarks/rate_limit.py
    .venv/bin/python benchmarks/rate_limit.py --seconds 300 --json > r.json
    git worktree add /tmp/rl-before <commit>
    PYTHONPATH=/tmp/rl-before/daemon .venv/bin/python benchmarks/rate_limit.py   # another commit

Brygga API used: ``HttpContext(limiters=, clock=, transport=)``, ``RateLimiterRegistry(clock)``
(and its ``guard=`` where it has one), ``RemoteClient(system=, base_url=, context=, account=,
rate_limit=).request``, ``RateLimit``, ``TransientError.retry_after`` and the ``Clock``
protocol, which all commits measured share.
"""

from __future__ import annotations

import argparse
import heapq
import inspect
import itertools
import json
import math
import random
import statistics
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_env import code_under_test, describe, machine

from brygga.errors import TransientError
from brygga.http.client import HttpContext, RemoteClient
from brygga.http.ratelimit import RateLimit, RateLimiterRegistry

LIMIT = RateLimit(25, 5.0)


class VirtualClock:
    """A :class:`brygga.clock.Clock` whose time moves only when every task waits: ``sleep``
    parks the caller until :meth:`run` moves the time to its wake-up."""

    def __init__(self) -> None:
        self._mono = 0.0
        self._start = datetime(2026, 1, 1, tzinfo=UTC)
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._seq = itertools.count()
        #: store calls running on their thread: the time stands still meanwhile
        self.busy = 0

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._mono)

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        # a sleep takes at least a microsecond, as a real one does: a caller that computes a
        # wait of 0 (floats rounding the other way) sees the time move instead of spinning
        event = anyio.Event()
        when = self._mono + max(seconds, 1e-6)
        heapq.heappush(self._sleepers, (when, next(self._seq), event))
        await event.wait()

    async def run(self) -> None:
        """Move the time on whenever all other tasks are blocked (cancel to stop)."""
        while True:
            await anyio.wait_all_tasks_blocked()
            if self.busy or not self._sleepers:
                await anyio.sleep(0.001)  # everything waits on something else (a lock)
                continue
            when = self._sleepers[0][0]
            self._mono = max(self._mono, when)
            while self._sleepers and self._sleepers[0][0] <= self._mono:
                heapq.heappop(self._sleepers)[2].set()


class WindowApp:
    """ASGI: 25 requests in any 5 s (a sliding window, as the Fortnox simulator's gate), 429
    beyond it, after ``latency()`` seconds of travel (the server counts the arrival)."""

    def __init__(self, clock: VirtualClock, limit: RateLimit, latency: Callable[[], float]) -> None:
        self.clock = clock
        self.limit = limit
        self.latency = latency
        self.starts: deque[float] = deque()
        #: every arrival as (time, connection, accepted)
        self.log: list[tuple[float, str, bool]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await self.clock.sleep(self.latency())
        now = self.clock.monotonic()
        # to the microsecond, as a server's clock: a request arriving exactly one window after
        # another must not be refused because a float sum rounded the other way
        while self.starts and self.starts[0] <= now - self.limit.per_seconds + 1e-6:
            self.starts.popleft()
        accepted = len(self.starts) < self.limit.requests
        if accepted:
            self.starts.append(now)
        who = dict(scope["headers"]).get(b"x-connection", b"?").decode()
        self.log.append((now, who, accepted))
        status, body = (200, b'{"ok":true}') if accepted else (429, b'{"error":"rate"}')
        headers = [(b"content-type", b"application/json"), (b"x-arrived", repr(now).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@dataclass
class Result:
    scenario: str
    seconds: float
    callers: int
    connections: int
    sent: int = 0
    refused_429: int = 0
    accepted: int = 0
    use_pct: float = 0.0
    use_after_start_pct: float = 0.0
    first_accepted_at: float | None = None
    errors_to_caller: int = 0
    wait_p50: float = 0.0
    wait_p95: float = 0.0
    wait_max: float = 0.0
    share_pct: dict[str, float] = field(default_factory=dict)
    orders: int = 0
    order_p50: float = 0.0
    order_p95: float = 0.0
    guard: float | None = None
    #: ``restart``: seconds from the restart to the new process's first accepted request, and
    #: the 429s answered from one window before the restart to two after it
    restart_gap: float | None = None
    restart_429: int | None = None
    #: ``visitor``: while both processes ran, the use of the limit and the 429s answered
    overlap_use_pct: float | None = None
    overlap_429: int | None = None


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _capacity(limit: RateLimit, seconds: float) -> int:
    """The most a sliding window accepts in ``seconds``: a full window's worth at the start
    of each window begun (the window is empty at first)."""
    return limit.requests * math.ceil(seconds / limit.per_seconds - 1e-9)


def _registry(clock: VirtualClock, guard: float | None) -> RateLimiterRegistry:
    if guard is None:
        return RateLimiterRegistry(clock)
    return RateLimiterRegistry(clock, guard=guard)  # type: ignore[call-arg,unused-ignore]


def has_guard() -> bool:
    return "guard" in inspect.signature(RateLimiterRegistry).parameters


async def _scenario(
    name: str,
    *,
    seconds: float,
    connections: int,
    callers_each: int,
    latency: Callable[[], float],
    orders_per_second: float = 0.0,
    calls_per_order: int = 5,
    seed: int = 1,
    guard: float | None = None,
    server_limit: RateLimit = LIMIT,
) -> Result:
    clock = VirtualClock()
    app = WindowApp(clock, server_limit, latency)
    context = HttpContext(
        limiters=_registry(clock, guard),
        clock=clock,
        transport=httpx.ASGITransport(app=app),
    )
    clients = [
        RemoteClient(
            system="sim",
            base_url="http://erp.test",
            context=context,
            account="erp.test#tenant",
            rate_limit=LIMIT,
            headers={"x-connection": f"c{n + 1}"},
        )
        for n in range(connections)
    ]
    waits: list[float] = []
    order_times: list[float] = []
    errors = 0

    async def call(client: RemoteClient) -> None:
        nonlocal errors
        called = clock.monotonic()
        while True:
            try:
                response = await client.request("GET", "customers")
            except TransientError as exc:  # what the daemon would spend an item retry on
                errors += 1
                await clock.sleep(exc.retry_after or LIMIT.per_seconds)
                continue
            waits.append(float(response.headers["x-arrived"]) - called)
            return

    async def back_to_back(client: RemoteClient) -> None:
        while clock.monotonic() < seconds:
            await call(client)

    async def one_order(client: RemoteClient) -> None:
        placed = clock.monotonic()
        for _ in range(calls_per_order):
            await call(client)
        order_times.append(clock.monotonic() - placed)

    async def order_stream(client: RemoteClient, tg: anyio.abc.TaskGroup) -> None:
        rng = random.Random(seed)
        # the limiter's start-up window first, as a daemon's first order would find it
        await clock.sleep(LIMIT.per_seconds * 1.05)
        while clock.monotonic() < seconds:
            tg.start_soon(one_order, client)
            await clock.sleep(rng.expovariate(orders_per_second))

    async def main() -> None:
        async with anyio.create_task_group() as work:
            for client in clients:
                if orders_per_second:
                    work.start_soon(order_stream, client, work)
                else:
                    for _ in range(callers_each):
                        work.start_soon(back_to_back, client)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(clock.run)
            await main()
            tg.cancel_scope.cancel()
    finally:
        for client in clients:
            await client.aclose()

    result = Result(name, seconds, connections * callers_each, connections, guard=guard)
    measured = [entry for entry in app.log if entry[0] < seconds]
    result.sent = len(measured)
    result.accepted = sum(1 for _, _, ok in measured if ok)
    result.refused_429 = result.sent - result.accepted
    result.use_pct = round(100 * result.accepted / _capacity(server_limit, seconds), 1)
    first = next((t for t, _, ok in measured if ok), None)
    result.first_accepted_at = None if first is None else round(first, 3)
    if first is not None and first < seconds:
        after = _capacity(server_limit, seconds - first)
        result.use_after_start_pct = round(100 * result.accepted / after, 1)
    result.errors_to_caller = errors
    result.wait_p50 = round(_pct(waits, 0.5), 3)
    result.wait_p95 = round(_pct(waits, 0.95), 3)
    result.wait_max = round(max(waits, default=0.0), 3)
    if connections > 1 and result.accepted:
        for n in range(connections):
            mine = sum(1 for _, who, ok in measured if ok and who == f"c{n + 1}")
            result.share_pct[f"c{n + 1}"] = round(100 * mine / result.accepted, 1)
    if order_times:
        result.orders = len(order_times)
        result.order_p50 = round(statistics.median(order_times), 3)
        result.order_p95 = round(_pct(order_times, 0.95), 3)
    return result


def has_memory() -> bool:
    """Whether the code measured has limiters that remember their window across restarts."""
    return hasattr(RateLimiterRegistry, "restore")


async def _restart(name: str, *, seconds: float, callers: int, remember: bool) -> Result:
    """``callers`` back to back on one account; half-way the process is replaced by a new one
    (a new registry, new clients) that is given the old one's memory (a clean stop) when
    ``remember`` and the code has it, else starts as a new limiter does without it."""
    clock = VirtualClock()
    app = WindowApp(clock, LIMIT, lambda: 0.05)
    transport = httpx.ASGITransport(app=app)
    errors = 0
    waits: list[float] = []

    def process(registry: RateLimiterRegistry, name: str) -> RemoteClient:
        context = HttpContext(limiters=registry, clock=clock, transport=transport)
        return RemoteClient(
            system="sim",
            base_url="http://erp.test",
            context=context,
            account="erp.test#tenant",
            rate_limit=LIMIT,
            headers={"x-connection": name},
        )

    async def back_to_back(client: RemoteClient, until: float) -> None:
        nonlocal errors
        while clock.monotonic() < until:
            called = clock.monotonic()
            try:
                response = await client.request("GET", "customers")
            except TransientError as exc:
                errors += 1
                await clock.sleep(exc.retry_after or LIMIT.per_seconds)
                continue
            waits.append(float(response.headers["x-arrived"]) - called)

    async def run(client: RemoteClient, until: float) -> None:
        async with anyio.create_task_group() as work:
            for _ in range(callers):
                work.start_soon(back_to_back, client, until)

    half = seconds / 2
    first = RateLimiterRegistry(clock)
    second = RateLimiterRegistry(clock)
    if has_memory():
        first.restore({}, unknown_until=None)  # a state file that says nothing ran before
    old = process(first, "old")
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.run)
        await run(old, half)
        await old.aclose()
        restarted = clock.monotonic()
        if has_memory():  # forgetting: a clean slate, no blind wait either
            second.restore(first.changed() if remember else {}, unknown_until=None)
        new = process(second, "new")
        await run(new, seconds)
        await new.aclose()
        tg.cancel_scope.cancel()

    result = Result(name, seconds, callers, 1)
    measured = [entry for entry in app.log if entry[0] < seconds]
    result.sent = len(measured)
    result.accepted = sum(1 for _, _, ok in measured if ok)
    result.refused_429 = result.sent - result.accepted
    result.use_pct = round(100 * result.accepted / _capacity(LIMIT, seconds), 1)
    result.errors_to_caller = errors
    result.wait_p50 = round(_pct(waits, 0.5), 3)
    result.wait_p95 = round(_pct(waits, 0.95), 3)
    result.wait_max = round(max(waits, default=0.0), 3)
    first_ok = next((t for t, _, ok in measured if ok), None)
    result.first_accepted_at = None if first_ok is None else round(first_ok, 3)
    if first_ok is not None and first_ok < seconds:
        since = _capacity(LIMIT, seconds - first_ok)
        result.use_after_start_pct = round(100 * result.accepted / since, 1)
    after = next((t for t, who, ok in measured if ok and who == "new"), None)
    result.restart_gap = None if after is None else round(after - restarted, 3)
    window = LIMIT.per_seconds
    result.restart_429 = sum(
        1 for t, _, ok in measured if not ok and restarted - window <= t < restarted + 2 * window
    )
    return result


class _Timeless:
    """A limiter store whose calls take no virtual time (the clock waits for them)."""

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


def has_visitor() -> bool:
    """Whether the code measured has a visiting process's limiters (brygga sync products)."""
    try:
        from brygga.runtime.limiterstate import visiting_limiters  # noqa: F401
    except ImportError:
        return False
    return True


async def _visitor(name: str, *, seconds: float, limit: RateLimit, callers: int = 4) -> Result:
    """A daemon (limiters kept in the state file) and a visitor on one account and one state
    file, ``callers`` back to back each; the visitor runs from 10 % to 80 % of the time."""
    import tempfile

    from brygga.runtime.limiterstate import LimiterKeeper, visiting_limiters
    from brygga.store import Store

    clock = VirtualClock()
    app = WindowApp(clock, limit, lambda: 0.05)
    transport = httpx.ASGITransport(app=app)
    errors = 0
    v_from, v_to = 0.1 * seconds, 0.8 * seconds

    def client(registry: RateLimiterRegistry, who: str) -> RemoteClient:
        context = HttpContext(limiters=registry, clock=clock, transport=transport)
        return RemoteClient(
            system="sim",
            base_url="http://erp.test",
            context=context,
            account="erp.test#tenant",
            rate_limit=limit,
            headers={"x-connection": who},
        )

    async def back_to_back(remote: RemoteClient, until: float) -> None:
        nonlocal errors
        while clock.monotonic() < until:
            try:
                await remote.request("GET", "customers")
            except TransientError as exc:
                errors += 1
                await clock.sleep(exc.retry_after or limit.per_seconds)

    async def callers_on(remote: RemoteClient, until: float) -> None:
        async with anyio.create_task_group() as work:
            for _ in range(callers):
                work.start_soon(back_to_back, remote, until)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.db"
        async with await Store.open(path) as d_store, await Store.open(path) as v_store:

            async def daemon() -> None:
                registry = RateLimiterRegistry(clock)
                keeper = await LimiterKeeper.start(
                    _Timeless(d_store.limiters, clock), registry, clock, "daemon"
                )
                remote = client(registry, "daemon")
                async with anyio.create_task_group() as tg:
                    tg.start_soon(keeper.run)
                    await callers_on(remote, seconds)
                    tg.cancel_scope.cancel()
                await keeper.stop()
                await remote.aclose()

            async def visitor() -> None:
                await clock.sleep(v_from)
                registry = RateLimiterRegistry(clock)
                async with visiting_limiters(_Timeless(v_store.limiters, clock), registry, clock):
                    remote = client(registry, "visitor")
                    await callers_on(remote, v_to)
                    await remote.aclose()

            async with anyio.create_task_group() as tg:
                tg.start_soon(clock.run)
                async with anyio.create_task_group() as work:
                    work.start_soon(daemon)
                    work.start_soon(visitor)
                tg.cancel_scope.cancel()

    result = Result(name, seconds, 2 * callers, 2)
    measured = [entry for entry in app.log if entry[0] < seconds]
    result.sent = len(measured)
    result.accepted = sum(1 for _, _, ok in measured if ok)
    result.refused_429 = result.sent - result.accepted
    result.use_pct = round(100 * result.accepted / _capacity(limit, seconds), 1)
    result.errors_to_caller = errors
    both = [entry for entry in measured if v_from <= entry[0] < v_to]
    accepted = [who for _, who, ok in both if ok]
    result.overlap_use_pct = round(100 * len(accepted) / _capacity(limit, v_to - v_from), 1)
    result.overlap_429 = sum(1 for _, _, ok in both if not ok)
    for who in ("daemon", "visitor"):
        mine = sum(1 for w in accepted if w == who)
        result.share_pct[who] = round(100 * mine / max(1, len(accepted)), 1)
    return result


def visitor_scenarios(seconds: float) -> list[Callable[[], Awaitable[Result]]]:
    if not has_visitor():
        return []
    return [
        lambda: _visitor("visitor 25/5s", seconds=seconds, limit=LIMIT),
        lambda: _visitor("visitor 10/1s", seconds=seconds, limit=RateLimit(10, 1.0)),
    ]


def scenarios(seconds: float, callers: int) -> list[Callable[[], Awaitable[Result]]]:
    fixed = lambda: 0.05  # noqa: E731  a 50 ms round trip, the same for every request

    def jitter() -> Callable[[], float]:
        # 20-150 ms, the same sequence in every run that uses it
        rng = random.Random(7)
        return lambda: rng.uniform(0.02, 0.15)

    runs: list[Callable[[], Awaitable[Result]]] = [
        lambda: _scenario(
            "saturated", seconds=seconds, connections=1, callers_each=callers, latency=fixed
        ),
        lambda: _scenario("shared", seconds=seconds, connections=3, callers_each=4, latency=fixed),
        lambda: _scenario(
            "orders",
            seconds=seconds,
            connections=1,
            callers_each=1,
            latency=lambda: 0.002,
            orders_per_second=0.6 * LIMIT.requests / LIMIT.per_seconds / 5,
        ),
        lambda: _scenario(
            "jitter", seconds=seconds, connections=1, callers_each=callers, latency=jitter()
        ),
        lambda: _scenario(
            "lower",
            seconds=seconds,
            connections=1,
            callers_each=callers,
            latency=fixed,
            server_limit=RateLimit(20, 5.0),
        ),
    ]
    runs.append(
        lambda: _restart("restart", seconds=seconds, callers=callers, remember=True),
    )
    if has_memory():
        runs.append(
            lambda: _restart("restart, forgot", seconds=seconds, callers=callers, remember=False)
        )
    if has_guard():
        runs.append(
            lambda: _scenario(
                "jitter, guard 0",
                seconds=seconds,
                connections=1,
                callers_each=callers,
                latency=jitter(),
                guard=0.0,
            )
        )
    return runs


def _print(result: Result) -> None:
    if result.overlap_use_pct is not None:  # --visitor
        print(
            f"{result.scenario:>15}: sent {result.sent:5d}, 429 {result.refused_429:4d}, "
            f"accepted {result.accepted:5d}; use {result.use_pct:5.1f} %; while both ran: "
            f"use {result.overlap_use_pct:5.1f} %, {result.overlap_429} × 429, shares "
            + ", ".join(f"{k} {v:.1f} %" for k, v in result.share_pct.items())
            + f"; 429s raised to callers {result.errors_to_caller}"
        )
        return
    line = (
        f"{result.scenario:>15}: sent {result.sent:5d}, 429 {result.refused_429:4d}, "
        f"accepted {result.accepted:5d}; use {result.use_pct:5.1f} % "
        f"({result.use_after_start_pct:5.1f} % after the first at "
        f"{result.first_accepted_at if result.first_accepted_at is not None else '-'} s); "
        f"429s raised to callers {result.errors_to_caller}; wait p50 {result.wait_p50:.3f} s, "
        f"p95 {result.wait_p95:.3f} s, max {result.wait_max:.3f} s"
    )
    if result.share_pct:
        line += "; shares " + ", ".join(f"{k} {v:.1f} %" for k, v in result.share_pct.items())
    if result.restart_gap is not None:
        line += (
            f"; restarted half-way: first accepted {result.restart_gap:.3f} s after, "
            f"{result.restart_429} × 429 around it"
        )
    if result.overlap_use_pct is not None:
        line += f"; while both ran: use {result.overlap_use_pct:.1f} %, {result.overlap_429} × 429"
    if result.orders:
        line += (
            f"; {result.orders} orders of 5 calls: p50 {result.order_p50:.3f} s, "
            f"p95 {result.order_p95:.3f} s"
        )
    print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="simulated seconds per run")
    parser.add_argument("--callers", type=int, default=8, help="callers in 'saturated'")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--visitor",
        action="store_true",
        help="only a daemon and a visiting sync products on one state file",
    )
    args = parser.parse_args(argv)
    if args.visitor:
        runs = visitor_scenarios(args.seconds)
        if not runs:
            print("the code measured has no visiting limiters", file=sys.stderr)
            return 2
    else:
        runs = scenarios(args.seconds, args.callers)
    results = [anyio.run(run) for run in runs]
    document = {
        "benchmark": "rate_limit",
        "code": code_under_test(),
        "machine": machine(),
        "limit": {"requests": LIMIT.requests, "per_seconds": LIMIT.per_seconds},
        "seconds": args.seconds,
        "results": [asdict(r) for r in results],
    }
    if args.json:
        print(json.dumps(document, indent=2))
        return 0
    print(describe(document))
    print(f"limit {LIMIT.requests} per {LIMIT.per_seconds:g} s, {args.seconds:g} s simulated")
    for result in results:
        _print(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
