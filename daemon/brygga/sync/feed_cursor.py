"""Where a change feed's next window starts: on the source's clock, never this host's alone.

A poll reads the window ``[cursor - overlap, now)``. If the cursor were this host's ``now``, a
host clock running ahead of the source (a wrong NTP server, a VM restored from a snapshot)
would move every later window past the changes the source makes meanwhile, for good: once the
clock is put right, the first window starts ``overlap`` before a time the source has not
reached yet, and those changes are never read (operator QA, a +1 h jump lost three orders).

So the cursor is the newest change time the source itself reported (the time its filter
compares), and stays where it was when a window reports nothing. A window then never starts
later than the last change read, whatever this host's clock did. A cursor stored ahead of this
host's clock (written by an older version, or the clock was put back) is not trusted: the
window starts ``overlap`` before the host's ``now`` instead, and a warning says so.
"""

from __future__ import annotations

import logging
from datetime import datetime

__all__ = ["next_cursor", "window_from"]

log = logging.getLogger(__name__)


def window_from(stored: datetime, now: datetime, *, where: str) -> datetime:
    """The stored cursor, or ``now`` when the cursor lies ahead of this host's clock."""
    if stored <= now:
        return stored
    log.warning(
        "%s: the stored poll position %s is ahead of this host's clock (%s); the clock was put "
        "back, or an older brygga stored it. Reading from the clock's time instead: check the "
        "host's clock (NTP), and replay orders from the time in between if any are missing",
        where,
        stored.isoformat(timespec="seconds"),
        now.isoformat(timespec="seconds"),
    )
    return now


def next_cursor(previous: datetime | None, newest_seen: datetime | None) -> datetime | None:
    """The cursor after a window: the newest change time the source reported, never earlier
    than the previous cursor; ``previous`` when the window reported nothing (None: still the
    first window's lookback next time)."""
    if newest_seen is None:
        return previous
    if previous is None:
        return newest_seen
    return max(previous, newest_seen)
