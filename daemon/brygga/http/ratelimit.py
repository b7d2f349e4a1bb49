"""Sliding-window rate limits per remote account, shared by every connection that uses it."""

from __future__ import annotations

import collections
from dataclasses import dataclass

import anyio

from brygga.clock import Clock, SystemClock

__all__ = ["RateLimit", "RateLimiter", "RateLimiterRegistry"]


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` per ``per_seconds`` (the vendor's published figure)."""

    requests: int
    per_seconds: float

    def kept_under(self, margin: float = 0.9) -> RateLimit:
        """The limit we actually use: a little under the published one, so 429s stay rare."""
        return RateLimit(max(1, int(self.requests * margin)), self.per_seconds)


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
        async with self._lock:
            while True:
                now = self._clock.monotonic()
                if now < self._blocked_until:
                    await self._clock.sleep(self._blocked_until - now)
                    continue
                window_start = now - self.limit.per_seconds
                while self._starts and self._starts[0] <= window_start:
                    self._starts.popleft()
                if len(self._starts) < self.limit.requests:
                    self._starts.append(now)
                    return
                await self._clock.sleep(self._starts[0] + self.limit.per_seconds - now)

    def penalise(self, seconds: float) -> None:
        self._blocked_until = max(self._blocked_until, self._clock.monotonic() + seconds)


class RateLimiterRegistry:
    """One limiter per account key (a hash of credentials + host), created on first use."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock
        self._limiters: dict[str, RateLimiter] = {}

    def get(self, account_key: str, limit: RateLimit) -> RateLimiter:
        limiter = self._limiters.get(account_key)
        if limiter is None:
            limiter = RateLimiter(limit, self._clock)
            self._limiters[account_key] = limiter
        return limiter
