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
window starts ``overlap`` before the host's ``now`` instead, and a warning says so; the
connection's work recorded while the clock was ahead is made due on the clock's time again
(:meth:`brygga.store.workitems.WorkItems.rewind_future`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from brygga.store import Store

__all__ = ["FeedWindow"]

log = logging.getLogger(__name__)


@dataclass
class FeedWindow:
    """One poll's window of one feed (connection, instance, register): where it starts, the
    newest change time the source reported in it, and the cursor it leaves."""

    store: Store
    connection: str
    instance: str
    register: str
    #: the window's end (this host's ``now``)
    until: datetime
    #: the window's start
    since: datetime
    #: the stored cursor as read (None: the first window)
    previous: datetime | None
    #: the cursor the window starts from (``previous``, unless it lies ahead of the clock)
    position: datetime | None
    #: the newest change time the source reported in the window
    newest: datetime | None = None

    @classmethod
    async def open(
        cls,
        store: Store,
        connection: str,
        instance: str,
        register: str,
        *,
        now: datetime,
        overlap: float,
        first: datetime,
    ) -> FeedWindow:
        """The window ``[cursor - overlap, now)``; ``first`` starts the first one (lookback)."""
        stored = await store.cursors.get(connection, instance, register)
        previous = None if stored is None else datetime.fromisoformat(stored)
        position = None
        since = first
        if previous is not None:
            position = _trusted(previous, now, where=f"{connection}/{instance}: {register}")
            if position != previous:
                # the clock went back: work recorded meanwhile is due on its time again
                rewound = await store.items.rewind_future(now, connection=connection)
                if rewound.rows:
                    log.warning("%s: %s", connection, rewound.describe())
            since = position - timedelta(seconds=overlap)
        return cls(store, connection, instance, register, now, since, previous, position)

    def saw(self, when: datetime | None) -> None:
        """The source reported a change at ``when`` (None, or a time after the window's end:
        no time of the source's own, which moves nothing)."""
        if when is not None and when <= self.until:
            self.newest = when if self.newest is None else max(self.newest, when)

    async def close(self, now: datetime) -> None:
        """Store the cursor the window leaves, once everything in it is recorded: the newest
        change time the source reported, never earlier than the cursor it started from; the
        cursor as it was when the window reported nothing (no write)."""
        cursor = self.position
        if self.newest is not None:
            cursor = self.newest if cursor is None else max(cursor, self.newest)
        if cursor is not None and cursor != self.previous:
            await self.store.cursors.set(
                self.connection, self.instance, self.register, cursor.isoformat(), now
            )


def _trusted(stored: datetime, now: datetime, *, where: str) -> datetime:
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
