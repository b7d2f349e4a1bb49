"""Exponential backoff with jitter: connection restarts and work-item retries share this policy."""

from __future__ import annotations

from typing import Protocol

__all__ = ["MAX_RETRY_AFTER", "Backoff", "RandomSource", "retry_delay"]

#: The longest remote ``Retry-After`` hint we honour (seconds); a longer one is clamped to this.
MAX_RETRY_AFTER = 3600.0


class RandomSource(Protocol):
    """What the jitter needs from a random generator (``random.Random`` fits; tests seed one)."""

    def random(self) -> float: ...


class Backoff:
    """Growing delays for one repeating failure: ``initial``, ``initial*factor``, ... up to
    ``maximum``, each spread by ``±jitter`` (a fraction) so restarts do not align.

    ``next()`` returns the delay to wait now and advances; ``reset()`` starts over (call it once
    the thing has been healthy for a while).
    """

    def __init__(
        self,
        initial: float,
        maximum: float,
        factor: float = 2.0,
        jitter: float = 0.1,
        *,
        rng: RandomSource,
    ) -> None:
        if initial <= 0 or maximum < initial:
            raise ValueError("backoff needs 0 < initial <= maximum")
        if factor < 1:
            raise ValueError("backoff factor must be at least 1")
        if not 0 <= jitter < 1:
            raise ValueError("backoff jitter is a fraction in [0, 1)")
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
        self._rng = rng
        self._current = initial
        self._attempts = 0

    @property
    def attempts(self) -> int:
        """How many delays were handed out since the last reset."""
        return self._attempts

    def next(self) -> float:
        base = self._current
        self._current = min(self.maximum, self._current * self.factor)
        self._attempts += 1
        if self.jitter:
            base *= 1 + self.jitter * (2 * self._rng.random() - 1)
        return min(self.maximum, max(0.0, base))

    def reset(self) -> None:
        self._current = self.initial
        self._attempts = 0


def retry_delay(
    attempt: int,
    *,
    base: float,
    cap: float,
    rng: RandomSource,
    retry_after: float | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = the first retry).

    Exponential growth with "full jitter" above a floor: a uniform pick in
    ``[base, min(cap, base * 2**(attempt-1))]``, so concurrent retries spread out but never
    hammer the remote faster than ``base``. A remote's ``retry_after`` hint is a lower bound that
    wins over ``cap`` (retrying before the remote allows only earns another 429), clamped to
    :data:`MAX_RETRY_AFTER` so a bogus header cannot park an item for days.
    """
    if base <= 0 or cap < base:
        raise ValueError("retry_delay needs 0 < base <= cap")
    exponent = max(0, attempt - 1)
    # 2**60 * base exceeds any sensible cap; stop growing before floats overflow.
    ceiling = cap if exponent >= 60 else min(cap, base * 2.0**exponent)
    delay = base + rng.random() * (ceiling - base)
    if retry_after is not None and retry_after > delay:
        delay = min(retry_after, max(cap, MAX_RETRY_AFTER))
    return delay
