"""Sliding-window rate limits per remote account, shared by every connection that uses it.

The ceiling is the vendor's published figure (an adapter's ``Capabilities.rate_limit``, or its
``rate_limit`` option), used as it is: N requests in any T seconds, bursts allowed, so the four
or five calls of one order leave at once when the window has room. Within that ceiling the
limiter adapts to the remote's answers (AIMD, as TCP does it): a 429 takes a quarter off the
allowed count and pauses the account for the ``Retry-After`` time (one request's share of the
window when none is given: the smaller count already makes the next request wait for a turn
in the window); sustained success grows the count back to the ceiling, by one request per
window. A quarter rather than TCP's half: a sliding window answers 429 as soon as it is only
just full, and on a server that allows 20 of the 25 published the benchmark keeps 94 % of
the 20 with a quarter and 83 % with a half (``benchmarks/rate_limit.py``, 60 s after the
start-up window). A new limiter starts at half the ceiling and grows by one per success until
the first 429 ("slow start"), so it is at the ceiling after N/2 answers when nothing objects.
The registry's limiters count their window 2 % longer than published (:data:`ACCOUNT_GUARD`).
"""

from __future__ import annotations

import collections
from typing import Annotated

import anyio
import msgspec

from brygga.clock import Clock, SystemClock

__all__ = [
    "ACCOUNT_GUARD",
    "ACCOUNT_START",
    "DECREASE",
    "DEFAULT_RATE_LIMIT",
    "RateLimit",
    "RateLimiter",
    "RateLimiterRegistry",
]


class RateLimit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """At most ``requests`` per ``per_seconds`` (the vendor's published figure).

    Also the type of every adapter's ``rate_limit`` option,
    ``rate_limit = { requests = 10, per_seconds = 1 }``: a config with fewer than 1 request
    or a window of 0 seconds or less is refused when it is loaded.
    """

    requests: Annotated[int, msgspec.Meta(ge=1)]
    per_seconds: Annotated[float, msgspec.Meta(gt=0)]

    def kept_under(self, margin: float = 0.9) -> RateLimit:
        """A little under the published limit (what the limiter used before it adapted to
        429s; kept for callers that want a fixed margin)."""
        return RateLimit(max(1, int(self.requests * margin)), self.per_seconds)


#: what an adapter keeps to when its vendor publishes no limit (and ``rate_limit`` is unset)
DEFAULT_RATE_LIMIT = RateLimit(10, 1.0)

#: what a 429 multiplies the allowed count by (see :class:`RateLimiter`)
DECREASE = 0.75
#: the share of the ceiling an account's limiter starts at (see :class:`RateLimiter`)
ACCOUNT_START = 0.5
#: how much longer than the published window an account's limiter counts its window (a
#: fraction of it). The server counts a request when it arrives, we when it leaves, and the
#: time between varies: without a guard, a request that travels faster than the one it
#: replaces in the window arrives too early and is refused, which shrinks the allowed count.
#: 2 % (0.1 s of Fortnox's 5 s) absorbs that jitter at 98 % of the limit's capacity
ACCOUNT_GUARD = 0.02


class RateLimiter:
    """Sliding window: a request may start when fewer than ``allowed`` started in the last
        window, ``allowed`` moving between 1 and the ceiling ``limit.requests`` (AIMD).

        ``start`` is the share of the ceiling it allows at first (1.0: all of it); until the first
        429 every answered request adds one (slow start), after it every answered request adds
        ``1 / allowed`` (one per window's worth). :meth:`throttled` (a 429) multiplies ``allowed``
    by :data:`DECREASE`,
        once per round of requests in flight, and pauses the account. ``guard`` stretches the
        window by that fraction of it (see :data:`ACCOUNT_GUARD`).

        A new limiter starts as if its window were full: its first request waits one window after
        the limiter was created. The server still counts the requests a killed (or restarted)
        process sent just before this one started, and we cannot know them; waiting one window
        means that any window spanning the restart holds requests of only one of the two
        processes, so the server never sees more than N from both together. The cost is one
        window at start-up (per account, per process).

        Waiting requests take their turns in arrival order (an anyio lock is FIFO), so the tasks
        of every connection sharing the account are served fairly.
    """

    def __init__(
        self,
        limit: RateLimit,
        clock: Clock | None = None,
        *,
        start: float = 1.0,
        guard: float = 0.0,
    ) -> None:
        if not 0 < start <= 1:
            raise ValueError("a rate limiter starts at a share of its ceiling in (0, 1]")
        if guard < 0:
            raise ValueError("a rate limiter's guard is a fraction of its window, at least 0")
        self.limit = limit
        self.window = limit.per_seconds * (1 + guard)
        self._clock = clock or SystemClock()
        self._starts: collections.deque[float] = collections.deque()
        self._lock = anyio.Lock()
        self._allowed = max(1.0, limit.requests * start)
        self._slow_start = self._allowed < limit.requests
        #: when ``allowed`` was last shrunk: 429s to requests started before then were
        #: answered to the same crowd and do not shrink it again
        self._decreased_at = float("-inf")
        #: 429s seen, and how often they shrank ``allowed`` (for tests and benchmarks)
        self.throttles = 0
        self.decreases = 0
        # Start conservatively (see the class docstring): nothing before one window has passed.
        self._blocked_until = self._clock.monotonic() + limit.per_seconds

    @property
    def allowed(self) -> int:
        """Requests that may start in one window now (1 up to the ceiling)."""
        return int(self._allowed)

    @property
    def blocked_until(self) -> float:
        """On the limiter's clock: no request starts before this (a pause, or the start)."""
        return self._blocked_until

    async def acquire(self) -> float:
        """Wait for a turn; returns when the request started (on the limiter's clock), to be
        handed back to :meth:`throttled` if the remote answers 429."""
        # Nobody waiting (an anyio lock stays held while it is handed to a waiter) and room
        # in the window: take the turn without the lock, which costs a trip through the
        # event loop per request even when free.
        if not self._lock.locked():
            now = self._clock.monotonic()
            if self._take(now) is None:
                return now
        async with self._lock:
            while True:
                now = self._clock.monotonic()
                wait = self._take(now)
                if wait is None:
                    return now
                await self._clock.sleep(wait)

    def _take(self, now: float) -> float | None:
        """Start a request at ``now`` if the window has room (None), else the seconds to wait
        before trying again."""
        if now < self._blocked_until:
            return self._blocked_until - now
        starts = self._starts
        # the same sum as the wait below: ``now - window`` may round the other way, and a
        # turn that is never free but has nothing to wait for would spin
        while starts and starts[0] + self.window <= now:
            starts.popleft()
        allowed = int(self._allowed)
        if len(starts) < allowed:
            starts.append(now)
            return None
        # the turn comes when the one that makes the window full leaves it
        return starts[len(starts) - allowed] + self.window - now

    def succeeded(self) -> None:
        """The remote answered a request without refusing it for its rate: grow (additive
        increase, one per success while in slow start)."""
        ceiling = float(self.limit.requests)
        if self._allowed >= ceiling:
            return
        step = 1.0 if self._slow_start else 1.0 / self._allowed
        self._allowed = min(ceiling, self._allowed + step)
        if self._allowed >= ceiling:
            self._slow_start = False

    def throttled(self, retry_after: float | None, started_at: float | None = None) -> float:
        """The remote answered 429 to a request started at ``started_at``: shrink the allowed
        count (once for all the requests that were in flight together) and pause the whole
        account for ``retry_after`` seconds, or one request's share of the window without it
        (the smaller count makes the next request wait for its turn anyway). Returns the
        pause."""
        self.throttles += 1
        pause = self.window / self.limit.requests if retry_after is None else max(0.0, retry_after)
        now = self._clock.monotonic()
        if started_at is None or started_at > self._decreased_at:
            self._allowed = max(1.0, self._allowed * DECREASE)
            self._slow_start = False
            self._decreased_at = now
            self.decreases += 1
        self._blocked_until = max(self._blocked_until, now + pause)
        return pause

    def penalise(self, seconds: float) -> None:
        """Hold every request of the account back for ``seconds`` (without shrinking)."""
        self._blocked_until = max(self._blocked_until, self._clock.monotonic() + seconds)


class RateLimiterRegistry:
    """One limiter per account key (a hash of credentials + host), created on first use,
    starting at :data:`ACCOUNT_START` of its ceiling with a :data:`ACCOUNT_GUARD` window.

    Without a clock of its own, a registry runs on the clock of the
    :class:`~brygga.http.client.HttpContext` it is given to (see :meth:`adopt_clock`).
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        start: float = ACCOUNT_START,
        guard: float = ACCOUNT_GUARD,
    ) -> None:
        self._clock = clock
        self._start = start
        self._guard = guard
        self._limiters: dict[str, RateLimiter] = {}

    @property
    def clock(self) -> Clock | None:
        """The clock its limiters run on (None: the system clock)."""
        return self._clock

    def adopt_clock(self, clock: Clock) -> None:
        """Run on ``clock`` unless the registry was given a clock of its own."""
        if self._clock is None:
            self._clock = clock

    def get(self, account_key: str, limit: RateLimit) -> RateLimiter:
        """The account's limiter; the first caller's ``limit`` is its ceiling (every adapter
        on one account publishes the same one)."""
        limiter = self._limiters.get(account_key)
        if limiter is None:
            limiter = RateLimiter(limit, self._clock, start=self._start, guard=self._guard)
            self._limiters[account_key] = limiter
        return limiter
