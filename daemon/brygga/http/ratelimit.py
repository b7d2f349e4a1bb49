"""Sliding-window rate limits per remote account, shared by every connection that uses it."""

from __future__ import annotations

import collections
from typing import Annotated

import anyio
import msgspec

from brygga.clock import Clock, SystemClock

__all__ = ["DEFAULT_RATE_LIMIT", "RateLimit", "RateLimiter", "RateLimiterRegistry"]


class RateLimit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """At most ``requests`` per ``per_seconds`` (the vendor's published figure).

    Also the type of every adapter's ``rate_limit`` option,
    ``rate_limit = { requests = 10, per_seconds = 1 }``: a config with fewer than 1 request
    or a window of 0 seconds or less is refused when it is loaded.
    """

    requests: Annotated[int, msgspec.Meta(ge=1)]
    per_seconds: Annotated[float, msgspec.Meta(gt=0)]

    def kept_under(self, margin: float = 0.9) -> RateLimit:
        """The limit we actually use: a little under the published one, so 429s stay rare."""
        return RateLimit(max(1, int(self.requests * margin)), self.per_seconds)


#: what an adapter keeps to when its vendor publishes no limit (and ``rate_limit`` is unset)
DEFAULT_RATE_LIMIT = RateLimit(10, 1.0)


class RateLimiter:
    """Sliding window: a request may start when fewer than N started in the last T seconds.

    A new limiter starts as if its window were full: its first request waits T seconds after
    the limiter was created. The server still counts the requests a killed (or restarted)
    process sent just before this one started, and we cannot know them; waiting one window
    means that any T-second window spanning the restart holds requests of only one of the two
    processes, so the server never sees more than N from both together. T is about a second for
    the shipped adapters, so the cost is one window at start-up (per account, per process).

    A 429 from the remote calls :meth:`penalise`, which holds every request of the account
    back for the Retry-After time.
    """

    def __init__(self, limit: RateLimit, clock: Clock | None = None) -> None:
        self.limit = limit
        self._clock = clock or SystemClock()
        self._starts: collections.deque[float] = collections.deque()
        self._lock = anyio.Lock()
        # Start conservatively (see the class docstring): nothing before one window has passed.
        self._blocked_until = self._clock.monotonic() + limit.per_seconds

    async def acquire(self) -> None:
        # Nobody waiting (an anyio lock stays held while it is handed to a waiter) and room
        # in the window: take the turn without the lock, which costs a trip through the
        # event loop per request even when free.
        if not self._lock.locked() and self._take(self._clock.monotonic()) is None:
            return
        async with self._lock:
            while True:
                now = self._clock.monotonic()
                wait = self._take(now)
                if wait is None:
                    return
                await self._clock.sleep(wait)

    def _take(self, now: float) -> float | None:
        """Start a request at ``now`` if the window has room (None), else the seconds to wait
        before trying again."""
        if now < self._blocked_until:
            return self._blocked_until - now
        window_start = now - self.limit.per_seconds
        while self._starts and self._starts[0] <= window_start:
            self._starts.popleft()
        if len(self._starts) < self.limit.requests:
            self._starts.append(now)
            return None
        return self._starts[0] + self.limit.per_seconds - now

    def penalise(self, seconds: float) -> None:
        self._blocked_until = max(self._blocked_until, self._clock.monotonic() + seconds)


class RateLimiterRegistry:
    """One limiter per account key (a hash of credentials + host), created on first use.

    Without a clock of its own, a registry runs on the clock of the
    :class:`~brygga.http.client.HttpContext` it is given to (see :meth:`adopt_clock`).
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock
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
        limiter = self._limiters.get(account_key)
        if limiter is None:
            limiter = RateLimiter(limit, self._clock)
            self._limiters[account_key] = limiter
        return limiter
