"""Shop-local naive times to UTC across daylight saving changes (Europe/Stockholm, 2020-2030)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from brygga.timeutil import (
    is_ambiguous,
    is_nonexistent,
    local_to_utc,
    parse_shop_time,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
HOUR = timedelta(hours=1)


def _last_sunday(year: int, month: int) -> datetime:
    day = datetime(year, month, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


#: the days Stockholm changes clocks (last Sunday of March and of October), 2020-2030
CHANGE_DAYS = [_last_sunday(y, m) for y in range(2020, 2031) for m in (3, 10)]

_near_local_changes = st.builds(
    lambda day, seconds: day + timedelta(seconds=seconds),
    st.sampled_from(CHANGE_DAYS),
    st.integers(min_value=0, max_value=5 * 3600),  # 00:00-05:00 local covers gap and fold
)
_any_local = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31, 23, 59, 59)
)
#: naive Stockholm wall-clock times, half of them in the hours around a change
local_times = st.one_of(_any_local, _near_local_changes)
#: aware UTC instants, half of them in the hours around a change
utc_instants = st.one_of(
    _any_local.map(lambda t: t.replace(tzinfo=UTC)),
    _near_local_changes.map(lambda t: t.replace(tzinfo=UTC) - timedelta(hours=1)),
)


def local_of(instant: datetime) -> datetime:
    """The naive Stockholm wall-clock reading of an aware instant."""
    return instant.astimezone(STOCKHOLM).replace(tzinfo=None)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# -- fixed cases around the 2026 changes --------------------------------------------------


@pytest.mark.parametrize(
    ("local", "prefer", "expected"),
    [
        # winter and summer: one reading each
        (datetime(2026, 1, 15, 12, 0), "earlier", utc(2026, 1, 15, 11, 0)),
        (datetime(2026, 7, 15, 12, 0), "later", utc(2026, 7, 15, 10, 0)),
        # spring gap 2026-03-29 02:00-02:59 does not exist: moved forward by the gap
        (datetime(2026, 3, 29, 1, 59, 59), "earlier", utc(2026, 3, 29, 0, 59, 59)),
        (datetime(2026, 3, 29, 2, 0), "earlier", utc(2026, 3, 29, 1, 0)),
        (datetime(2026, 3, 29, 2, 30), "earlier", utc(2026, 3, 29, 1, 30)),
        (datetime(2026, 3, 29, 2, 30), "later", utc(2026, 3, 29, 1, 30)),
        (datetime(2026, 3, 29, 3, 0), "earlier", utc(2026, 3, 29, 1, 0)),
        # autumn fold 2026-10-25 02:00-02:59 happens twice
        (datetime(2026, 10, 25, 1, 59, 59), "later", utc(2026, 10, 24, 23, 59, 59)),
        (datetime(2026, 10, 25, 2, 30), "earlier", utc(2026, 10, 25, 0, 30)),
        (datetime(2026, 10, 25, 2, 30), "later", utc(2026, 10, 25, 1, 30)),
        (datetime(2026, 10, 25, 3, 0), "earlier", utc(2026, 10, 25, 2, 0)),
    ],
)
def test_known_instants(local: datetime, prefer: str, expected: datetime) -> None:
    got = local_to_utc(local, "Europe/Stockholm", prefer=prefer)  # type: ignore[arg-type]
    assert got == expected
    assert got.tzinfo is UTC


def test_gap_and_fold_are_recognised() -> None:
    assert is_nonexistent(datetime(2026, 3, 29, 2, 30), STOCKHOLM)
    assert not is_nonexistent(datetime(2026, 3, 29, 3, 0), STOCKHOLM)
    assert is_ambiguous(datetime(2026, 10, 25, 2, 30), STOCKHOLM)
    assert not is_ambiguous(datetime(2026, 10, 25, 3, 0), STOCKHOLM)
    assert not is_ambiguous(datetime(2026, 3, 29, 2, 30), STOCKHOLM)


def test_aware_input_unknown_zone_and_bad_prefer_are_refused() -> None:
    with pytest.raises(ValueError, match="already has a UTC offset"):
        local_to_utc(utc(2026, 1, 1), STOCKHOLM)
    with pytest.raises(ValueError, match="unknown time zone 'Europe/Stokholm'"):
        local_to_utc(datetime(2026, 1, 1), "Europe/Stokholm")
    with pytest.raises(ValueError, match="prefer"):
        local_to_utc(datetime(2026, 1, 1), STOCKHOLM, prefer="middle")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-25 02:30:00", utc(2026, 10, 25, 0, 30)),  # naive: earlier half of the fold
        ("2026-03-29 02:30:00", utc(2026, 3, 29, 1, 30)),  # naive: in the gap, moved forward
        ("2026-02-02 09:00:00", utc(2026, 2, 2, 8, 0)),
        ("2026-02-02T09:00:00", utc(2026, 2, 2, 8, 0)),
        ("2026-10-25T02:30:00+01:00", utc(2026, 10, 25, 1, 30)),  # the offset decides
        ("2019-09-11T07:15:21+02:00", utc(2019, 9, 11, 5, 15, 21)),
        ("2026-06-01T10:00:00Z", utc(2026, 6, 1, 10, 0)),
        (" 2026-02-02 09:00:00 ", utc(2026, 2, 2, 8, 0)),
    ],
)
def test_parse_shop_time(text: str, expected: datetime) -> None:
    got = parse_shop_time(text, "Europe/Stockholm")
    assert got == expected
    assert got.utcoffset() == timedelta(0)


def test_parse_shop_time_prefer_later_in_the_fold() -> None:
    got = parse_shop_time("2026-10-25 02:30:00", STOCKHOLM, prefer="later")
    assert got == utc(2026, 10, 25, 1, 30)


@pytest.mark.parametrize(
    "text", ["0000-00-00 00:00:00", "", "yesterday", "2026-02-02", "2026-13-01 00:00:00"]
)
def test_parse_shop_time_rejects_non_timestamps(text: str) -> None:
    with pytest.raises(ValueError, match="expected YYYY-MM-DD HH:MM:SS"):
        parse_shop_time(text, STOCKHOLM)


# -- properties over 2020-2030 ------------------------------------------------------------


@given(utc_instants)
def test_utc_to_local_and_back_is_identity_except_the_later_half_of_a_fold(
    instant: datetime,
) -> None:
    local = local_of(instant)
    back = local_to_utc(local, STOCKHOLM)
    if is_ambiguous(local, STOCKHOLM) and instant.astimezone(STOCKHOLM).fold == 1:
        # documented: the default reads the fold's first occurrence, one hour earlier
        assert back == instant - HOUR
        assert local_to_utc(local, STOCKHOLM, prefer="later") == instant
    else:
        assert back == instant
    assert not is_nonexistent(local, STOCKHOLM)  # no instant reads as a time in the gap


@given(utc_instants)
def test_the_fold_reading_chosen_by_the_instant_round_trips(instant: datetime) -> None:
    local = instant.astimezone(STOCKHOLM)
    prefer = "later" if local.fold else "earlier"
    assert local_to_utc(local.replace(tzinfo=None), STOCKHOLM, prefer=prefer) == instant


@given(local_times)
def test_local_to_utc_and_back_is_identity_except_in_the_gap(local: datetime) -> None:
    for prefer in ("earlier", "later"):
        instant = local_to_utc(local, STOCKHOLM, prefer=prefer)  # type: ignore[arg-type]
        assert instant.tzinfo is UTC
        if is_nonexistent(local, STOCKHOLM):
            assert local_of(instant) == local + HOUR  # documented: moved forward by the gap
        else:
            assert local_of(instant) == local


@given(local_times)
def test_earlier_and_later_differ_only_in_a_fold(local: datetime) -> None:
    earlier = local_to_utc(local, STOCKHOLM, prefer="earlier")
    later = local_to_utc(local, STOCKHOLM, prefer="later")
    assert later - earlier == (HOUR if is_ambiguous(local, STOCKHOLM) else timedelta(0))


@given(local_times, local_times)
def test_order_of_local_times_is_kept_outside_gaps_and_folds(a: datetime, b: datetime) -> None:
    if any(is_nonexistent(t, STOCKHOLM) or is_ambiguous(t, STOCKHOLM) for t in (a, b)):
        return
    ua, ub = local_to_utc(a, STOCKHOLM), local_to_utc(b, STOCKHOLM)
    assert (a < b) == (ua < ub)
    assert (a == b) == (ua == ub)


@given(utc_instants, utc_instants)
def test_order_of_instants_is_kept_in_local_time_outside_folds(a: datetime, b: datetime) -> None:
    la, lb = local_of(a), local_of(b)
    if is_ambiguous(la, STOCKHOLM) or is_ambiguous(lb, STOCKHOLM):
        return
    assert (a < b) == (la < lb)


@given(local_times)
def test_the_offset_is_one_or_two_hours_for_stockholm(local: datetime) -> None:
    instant = local_to_utc(local, STOCKHOLM)
    offset = local_of(instant) - instant.replace(tzinfo=None)
    assert offset in (HOUR, 2 * HOUR)
    assert instant.astimezone(timezone(offset)).replace(tzinfo=None) == local_of(instant)
