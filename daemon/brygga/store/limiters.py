"""What the account rate limiters remember across restarts: recent sends and one lease.

The daemon (:mod:`brygga.runtime.limiterstate`) reads this once at start and writes it while
busy (at most every few seconds, in one small transaction that rides the store's group commit)
and when it stops. Keys are the rate limiter registry's account keys (a host and a hash of the
credentials); nothing here is a secret. Times used in arithmetic are Unix seconds (UTC).

Two processes may keep an account's window at once (the daemon and ``brygga sync products``):
:meth:`LimiterState.exchange` reads every stored window and writes back the union of this
process's sends and the others' in one transaction. A send is the float its process wrote (the
same number at every save), so "the others' sends" is the stored list less, as a multiset,
what this process wrote the last time (:func:`foreign_sends`): two sends at the same instant
stay two.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import msgspec

from brygga.store.db import Database, Tx, from_ts, to_ts

__all__ = ["LimiterMemory", "LimiterRun", "LimiterState", "SavedWindow", "foreign_sends"]


@dataclass(frozen=True)
class SavedWindow:
    """One account's limiter as a process left it."""

    account: str
    #: when the requests of its last window started (Unix seconds, oldest first)
    sends: tuple[float, ...]
    #: paused until then (Unix seconds), or not
    paused_until: float | None
    #: the count it had adapted to, and whether it was still in slow start
    allowed: float
    slow_start: bool
    #: the ceiling it had: requests per seconds
    limit_requests: int
    limit_seconds: float


@dataclass(frozen=True)
class LimiterRun:
    """The last process that used the limiters on this state file."""

    run_id: str
    started_at: datetime
    #: no request of that process started after this (Unix seconds) without a newer row
    lease_until: float
    #: sends of an earlier process nobody recorded may reach up to this (Unix seconds)
    unknown_until: float | None
    #: when it stopped cleanly (None: it still runs, or it crashed)
    stopped_at: datetime | None


@dataclass(frozen=True)
class LimiterMemory:
    run: LimiterRun | None
    windows: dict[str, SavedWindow]


_encode = msgspec.json.encode
_sends = msgspec.json.Decoder(list[float])


class LimiterState:
    """The ``limiter_windows`` and ``limiter_run`` tables (migration 7)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self) -> LimiterMemory:
        run = await self._db.fetchone(
            "SELECT run_id, started_at, lease_until, unknown_until, stopped_at"
            " FROM limiter_run WHERE id = 1"
        )
        rows = await self._db.fetchall(
            "SELECT account, sends, paused_until, allowed, slow_start, limit_requests,"
            " limit_seconds FROM limiter_windows"
        )
        windows = {
            str(row["account"]): SavedWindow(
                account=str(row["account"]),
                sends=tuple(_sends.decode(row["sends"])),
                paused_until=None if row["paused_until"] is None else float(row["paused_until"]),
                allowed=float(row["allowed"]),
                slow_start=bool(row["slow_start"]),
                limit_requests=int(row["limit_requests"]),
                limit_seconds=float(row["limit_seconds"]),
            )
            for row in rows
        }
        last = None
        if run is not None:
            last = LimiterRun(
                run_id=str(run["run_id"]),
                started_at=from_ts(run["started_at"]),
                lease_until=float(run["lease_until"]),
                unknown_until=None if run["unknown_until"] is None else float(run["unknown_until"]),
                stopped_at=None if run["stopped_at"] is None else from_ts(run["stopped_at"]),
            )
        return LimiterMemory(last, windows)

    async def begin(self, run_id: str, now: datetime, *, unknown_until: float | None) -> None:
        """A process starts: it runs (no clean stop yet), with no lease (no request may start
        before :meth:`renew` or :meth:`save` gives one), and inherits ``unknown_until``."""
        await self._db.execute(
            "INSERT INTO limiter_run (id, run_id, started_at, lease_until, unknown_until,"
            " stopped_at) VALUES (1, ?, ?, 0, ?, NULL) ON CONFLICT (id) DO UPDATE SET"
            " run_id = excluded.run_id, started_at = excluded.started_at, lease_until = 0,"
            " unknown_until = excluded.unknown_until, stopped_at = NULL",
            (run_id, to_ts(now), unknown_until),
        )

    async def renew(self, lease_until: float) -> None:
        """The running process may send until ``lease_until`` (never shortened)."""
        await self._db.execute(
            "UPDATE limiter_run SET lease_until = max(lease_until, ?) WHERE id = 1",
            (lease_until,),
        )

    async def save(
        self,
        windows: Sequence[SavedWindow],
        now: datetime,
        *,
        lease_until: float | None = None,
        stopped: bool = False,
    ) -> None:
        """Store ``windows`` (whatever was there for their accounts) and, with them, a longer
        lease or the clean stop: all of it in one transaction, or nothing."""
        stamp = to_ts(now)

        def body(tx: Tx) -> None:
            tx.executemany(_UPSERT, [_row(window, stamp) for window in windows])
            if lease_until is not None:
                tx.execute(
                    "UPDATE limiter_run SET lease_until = max(lease_until, ?) WHERE id = 1",
                    (lease_until,),
                )
            if stopped:
                tx.execute("UPDATE limiter_run SET stopped_at = ? WHERE id = 1", (stamp,))

        await self._db.run(body)

    async def merge(self, windows: Sequence[SavedWindow], now: datetime) -> None:
        """Add ``windows`` to what is stored for their accounts, taking nothing away: for a
        process that does not own the limiter row (``brygga sync products``, which may run
        beside a daemon). Per account: the sends of both (those of the newest window), the
        later pause and the smaller adapted count; the limit is this process's."""
        stamp = to_ts(now)

        def body(tx: Tx) -> None:
            rows = []
            for window in windows:
                stored = tx.execute(
                    "SELECT sends, paused_until, allowed, slow_start FROM limiter_windows"
                    " WHERE account = ?",
                    (window.account,),
                ).fetchone()
                rows.append(_row(window if stored is None else _merged(window, stored), stamp))
            tx.executemany(_UPSERT, rows)

        await self._db.run(body)

    async def exchange(
        self,
        windows: Sequence[SavedWindow],
        written: Mapping[str, Sequence[float]],
        now: datetime,
        *,
        lease_until: float | None = None,
        stopped: bool = False,
        keep_count: bool = True,
    ) -> LimiterMemory:
        """For a process that shares accounts with others: in one transaction, read every
        stored window, and write for each of ``windows`` (this process's own sends only) its
        sends with the others' (the stored ones less ``written[account]``, what this process
        wrote there the last time), and this process's pause and adapted count
        (``keep_count``: the daemon's) or the later pause and the smaller count; with them a
        longer lease or the clean stop, as :meth:`save`. Returns what was read: the run row
        and every stored window with the others' sends only (``sends``), before this write."""
        stamp = to_ts(now)
        floor = now.timestamp()

        def body(tx: Tx) -> LimiterMemory:
            read = _read(tx)
            others = {
                account: replace(stored, sends=foreign_sends(stored.sends, written.get(account)))
                for account, stored in read.windows.items()
            }
            rows = []
            for window in windows:
                stored = others.get(window.account)
                rows.append(_row(_shared(window, stored, floor, keep_count=keep_count), stamp))
            tx.executemany(_UPSERT, rows)
            if lease_until is not None:
                tx.execute(
                    "UPDATE limiter_run SET lease_until = max(lease_until, ?) WHERE id = 1",
                    (lease_until,),
                )
            if stopped:
                tx.execute("UPDATE limiter_run SET stopped_at = ? WHERE id = 1", (stamp,))
            return LimiterMemory(read.run, others)

        return await self._db.run(body)


def foreign_sends(stored: Iterable[float], written: Iterable[float] | None) -> tuple[float, ...]:
    """The stored sends less those this process wrote (as a multiset), oldest first."""
    left = Counter(stored)
    if written is not None:
        left.subtract(written)
    return tuple(sorted(left.elements()))


def _read(tx: Tx) -> LimiterMemory:
    run = tx.execute(
        "SELECT run_id, started_at, lease_until, unknown_until, stopped_at"
        " FROM limiter_run WHERE id = 1"
    ).fetchone()
    rows = tx.execute(
        "SELECT account, sends, paused_until, allowed, slow_start, limit_requests,"
        " limit_seconds FROM limiter_windows"
    ).fetchall()
    return LimiterMemory(None if run is None else _run(run), {r[0]: _stored(r) for r in rows})


def _stored(row: Any) -> SavedWindow:
    return SavedWindow(
        account=str(row[0]),
        sends=tuple(_sends.decode(row[1])),
        paused_until=None if row[2] is None else float(row[2]),
        allowed=float(row[3]),
        slow_start=bool(row[4]),
        limit_requests=int(row[5]),
        limit_seconds=float(row[6]),
    )


def _run(row: Any) -> LimiterRun:
    return LimiterRun(
        run_id=str(row[0]),
        started_at=from_ts(row[1]),
        lease_until=float(row[2]),
        unknown_until=None if row[3] is None else float(row[3]),
        stopped_at=None if row[4] is None else from_ts(row[4]),
    )


def _shared(
    own: SavedWindow, others: SavedWindow | None, floor: float, *, keep_count: bool
) -> SavedWindow:
    """What :meth:`LimiterState.exchange` writes for one account: ``own`` with the others'
    sends of the last two windows (at most four windows' worth), the later pause and the count
    (see there)."""
    if others is None:
        return own
    oldest = floor - 2 * own.limit_seconds
    sends = sorted([*own.sends, *(at for at in others.sends if at > oldest)])
    sends = sends[-4 * own.limit_requests :] if len(sends) > 4 * own.limit_requests else sends
    # the daemon's pause is its own (as :meth:`LimiterState.save` writes it); a visitor adds
    # its pause to the stored one (as :meth:`LimiterState.merge`)
    pauses = [p for p in (own.paused_until, others.paused_until) if p is not None]
    paused = own.paused_until if keep_count else max(pauses) if pauses else None
    smaller = keep_count or own.allowed <= others.allowed
    return SavedWindow(
        account=own.account,
        sends=tuple(sends),
        paused_until=paused,
        allowed=own.allowed if smaller else others.allowed,
        slow_start=own.slow_start if smaller else others.slow_start,
        limit_requests=own.limit_requests,
        limit_seconds=own.limit_seconds,
    )


_UPSERT = (
    "INSERT INTO limiter_windows (account, sends, paused_until, allowed, slow_start,"
    " limit_requests, limit_seconds, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (account) DO UPDATE SET sends = excluded.sends,"
    " paused_until = excluded.paused_until, allowed = excluded.allowed,"
    " slow_start = excluded.slow_start, limit_requests = excluded.limit_requests,"
    " limit_seconds = excluded.limit_seconds, saved_at = excluded.saved_at"
)


def _merged(window: SavedWindow, stored: Any) -> SavedWindow:
    """``window`` with the stored row of its account added (see :meth:`LimiterState.merge`)."""
    sends = sorted({*window.sends, *_sends.decode(stored["sends"])})
    if sends:  # what a limiter reads back is one window; keep that and a little more
        newest = sends[-1]
        sends = [at for at in sends if at > newest - 2 * window.limit_seconds]
        sends = sends[-4 * window.limit_requests :]
    pauses = [p for p in (window.paused_until, stored["paused_until"]) if p is not None]
    stored_allowed = float(stored["allowed"])
    smaller = window.allowed <= stored_allowed
    return SavedWindow(
        account=window.account,
        sends=tuple(sends),
        paused_until=max(pauses) if pauses else None,
        allowed=window.allowed if smaller else stored_allowed,
        slow_start=window.slow_start if smaller else bool(stored["slow_start"]),
        limit_requests=window.limit_requests,
        limit_seconds=window.limit_seconds,
    )


def _row(window: SavedWindow, stamp: str) -> tuple[object, ...]:
    return (
        window.account,
        _encode(list(window.sends)).decode(),
        window.paused_until,
        window.allowed,
        int(window.slow_start),
        window.limit_requests,
        window.limit_seconds,
        stamp,
    )
