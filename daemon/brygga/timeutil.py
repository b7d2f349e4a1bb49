"""Shop-local wall-clock times to aware UTC, correct across daylight saving changes.

Some shop APIs give timestamps as naive local wall-clock text (PrestaShop's
``YYYY-MM-DD HH:MM:SS`` in the shop's time zone; its adapter will read them with
:func:`parse_shop_time`). A naive local time does not always name exactly one instant:

- **Autumn fold** (e.g. Europe/Stockholm, last Sunday of October, 02:00-02:59 happens twice):
  the time is ambiguous. ``prefer="earlier"`` (the default) takes the first occurrence (still
  summer time), ``prefer="later"`` the second. For a change feed the earlier instant is the
  safe choice: a window that starts at or before it re-reads the record, never skips it.
- **Spring gap** (last Sunday of March, 02:00-02:59 does not exist): the time is shifted
  forward by the length of the gap, i.e. read with the offset in force before the change
  (02:30 becomes 03:30 summer time, 01:30 UTC), whatever ``prefer`` says. A shop can only
  write such a value through a bug or a clock set by hand; moving it forward keeps it after
  every time that really happened before it.

Everything else is a one-to-one mapping, so converting UTC to local and back is the identity
except for the later half of a fold read with ``prefer="earlier"``, and local times outside
folds and gaps keep their order in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from brygga.errors import PermanentError

__all__ = [
    "format_utc",
    "is_ambiguous",
    "is_nonexistent",
    "local_to_utc",
    "parse_shop_time",
    "parse_utc",
    "zone_info",
]

Prefer = Literal["earlier", "later"]


def zone_info(zone: str | ZoneInfo) -> ZoneInfo:
    """The time zone named ``zone`` (an IANA name such as ``Europe/Stockholm``)."""
    if isinstance(zone, ZoneInfo):
        return zone
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {zone!r}; use an IANA name such as 'Europe/Stockholm'"
        ) from None


def _candidates(naive: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC readings of ``naive`` with the offsets of ``fold=0`` and ``fold=1``."""
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    return first, second


def _exists(naive: datetime, instant: datetime, tz: ZoneInfo) -> bool:
    return instant.astimezone(tz).replace(tzinfo=None) == naive


def _check_naive(naive: datetime) -> None:
    if naive.tzinfo is not None:
        raise ValueError(
            f"{naive.isoformat()} already has a UTC offset; only naive local times are converted"
        )


def is_nonexistent(naive: datetime, zone: str | ZoneInfo) -> bool:
    """Whether the local wall-clock time ``naive`` falls in a spring-forward gap."""
    _check_naive(naive)
    tz = zone_info(zone)
    first, second = _candidates(naive, tz)
    return first != second and not _exists(naive, first, tz) and not _exists(naive, second, tz)


def is_ambiguous(naive: datetime, zone: str | ZoneInfo) -> bool:
    """Whether the local wall-clock time ``naive`` happens twice (an autumn fold)."""
    _check_naive(naive)
    tz = zone_info(zone)
    first, second = _candidates(naive, tz)
    return first != second and _exists(naive, first, tz) and _exists(naive, second, tz)


def local_to_utc(naive: datetime, zone: str | ZoneInfo, *, prefer: Prefer = "earlier") -> datetime:
    """The aware UTC instant of the local wall-clock time ``naive`` in ``zone``.

    Ambiguous times (autumn fold) resolve by ``prefer``; nonexistent times (spring gap) are
    shifted forward by the gap. Raises ValueError for an aware ``naive`` or an unknown zone.
    """
    _check_naive(naive)
    if prefer not in ("earlier", "later"):
        raise ValueError(f"prefer must be 'earlier' or 'later', not {prefer!r}")
    tz = zone_info(zone)
    first, second = _candidates(naive, tz)
    if first == second:
        return first
    if _exists(naive, first, tz) and _exists(naive, second, tz):  # a fold
        early, late = min(first, second), max(first, second)
        return early if prefer == "earlier" else late
    # A gap: neither reading maps back to ``naive``. The later instant is the reading with the
    # offset before the change, which is ``naive`` moved forward by the gap.
    return max(first, second)


def parse_shop_time(text: str, zone: str | ZoneInfo, *, prefer: Prefer = "earlier") -> datetime:
    """A shop timestamp as aware UTC: ISO 8601 with an offset (or ``Z``) is converted
    directly; a naive ``YYYY-MM-DD HH:MM:SS`` (or with ``T``) is local time in ``zone``.

    Raises ValueError naming the text when it is not a timestamp (PrestaShop's
    ``0000-00-00 00:00:00`` "never" included); callers turn that into a PermanentError
    naming the record and field.
    """
    raw = text.strip()
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a timestamp (expected YYYY-MM-DD HH:MM:SS or ISO 8601 "
            "with a UTC offset)"
        ) from None
    if len(raw) < len("YYYY-MM-DD HH:MM"):
        raise ValueError(f"{text!r} has no time of day (expected YYYY-MM-DD HH:MM:SS)")
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    return local_to_utc(parsed, zone, prefer=prefer)


def format_utc(moment: datetime) -> str:
    """An aware time as ISO 8601 UTC text in whole seconds (``2026-01-31T23:00:00Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str, where: str, system: str) -> datetime:
    """``system``'s ISO 8601 text with a zone (``Z`` or an offset) as an aware UTC time; a
    PermanentError naming ``where`` when it is not ISO 8601 or has no zone."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PermanentError(
            f"{where}: {system} sent the time {text[:40]!r}, not ISO 8601"
        ) from None
    if moment.tzinfo is None:
        raise PermanentError(f"{where}: {system} sent the time {text[:40]!r} without a zone")
    return moment.astimezone(UTC)
