"""Backoff and retry_delay: growth, caps, jitter bounds, Retry-After."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brygga.runtime.backoff import MAX_RETRY_AFTER, Backoff, retry_delay


class FixedRandom:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def test_backoff_doubles_up_to_the_maximum_and_resets() -> None:
    backoff = Backoff(1.0, 10.0, jitter=0.0, rng=FixedRandom(0.0))
    assert [backoff.next() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.attempts == 6
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next() == 1.0


def test_backoff_factor_is_configurable() -> None:
    backoff = Backoff(0.5, 100.0, factor=3.0, jitter=0.0, rng=FixedRandom(0.0))
    assert [backoff.next() for _ in range(4)] == [0.5, 1.5, 4.5, 13.5]


@pytest.mark.parametrize(("draw", "expected"), [(0.0, 3.6), (0.5, 4.0), (1.0, 4.4)])
def test_backoff_jitter_spreads_by_the_fraction(draw: float, expected: float) -> None:
    backoff = Backoff(4.0, 100.0, jitter=0.1, rng=FixedRandom(draw))
    assert backoff.next() == pytest.approx(expected)


def test_backoff_jitter_never_exceeds_the_maximum() -> None:
    backoff = Backoff(10.0, 10.0, jitter=0.5, rng=FixedRandom(1.0))
    assert backoff.next() == 10.0


def test_backoff_does_not_overflow_after_many_attempts() -> None:
    backoff = Backoff(1.0, 300.0, jitter=0.0, rng=FixedRandom(0.0))
    for _ in range(5000):
        delay = backoff.next()
    assert delay == 300.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial": 0.0, "maximum": 1.0},
        {"initial": 2.0, "maximum": 1.0},
        {"initial": 1.0, "maximum": 2.0, "factor": 0.5},
        {"initial": 1.0, "maximum": 2.0, "jitter": 1.0},
    ],
)
def test_backoff_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs, rng=FixedRandom(0.0))


def test_retry_delay_grows_exponentially_within_the_jitter_range() -> None:
    low, high = FixedRandom(0.0), FixedRandom(1.0)
    assert [retry_delay(n, base=2, cap=100, rng=high) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert [retry_delay(n, base=2, cap=100, rng=low) for n in (1, 2, 3, 4)] == [2, 2, 2, 2]
    assert retry_delay(3, base=2, cap=100, rng=FixedRandom(0.5)) == 5.0


def test_retry_delay_is_capped() -> None:
    assert retry_delay(30, base=1, cap=60, rng=FixedRandom(1.0)) == 60
    assert retry_delay(10_000, base=1, cap=60, rng=FixedRandom(1.0)) == 60


def test_retry_delay_never_undercuts_retry_after() -> None:
    assert retry_delay(1, base=1, cap=60, retry_after=30, rng=FixedRandom(0.0)) == 30
    # the remote's hint wins over our cap ...
    assert retry_delay(1, base=1, cap=60, retry_after=120, rng=FixedRandom(0.0)) == 120
    # ... up to a sanity limit
    huge = retry_delay(1, base=1, cap=60, retry_after=10**7, rng=FixedRandom(0.0))
    assert huge == MAX_RETRY_AFTER
    # a short hint does not shorten our own backoff
    assert retry_delay(5, base=1, cap=60, retry_after=0.5, rng=FixedRandom(1.0)) == 16


@given(
    attempt=st.integers(min_value=0, max_value=10_000),
    base=st.floats(min_value=0.01, max_value=10),
    extra=st.floats(min_value=0, max_value=1000),
    retry_after=st.none() | st.floats(min_value=0, max_value=10**6),
    seed=st.integers(),
)
def test_retry_delay_bounds(
    attempt: int, base: float, extra: float, retry_after: float | None, seed: int
) -> None:
    cap = base + extra
    delay = retry_delay(
        attempt, base=base, cap=cap, retry_after=retry_after, rng=random.Random(seed)
    )
    assert base <= delay
    if retry_after is None:
        assert delay <= cap
    else:
        assert delay >= min(retry_after, max(cap, MAX_RETRY_AFTER))
        assert delay <= max(cap, MAX_RETRY_AFTER)


def test_retry_delay_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        retry_delay(1, base=0, cap=1, rng=FixedRandom(0.0))
    with pytest.raises(ValueError):
        retry_delay(1, base=2, cap=1, rng=FixedRandom(0.0))
