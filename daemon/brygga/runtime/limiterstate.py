"""The account rate limiters across restarts: read at start, saved while busy and at a stop.

A new process's limiters start from what the state file says the last one left
(:class:`~brygga.http.ratelimit.AccountWindow` per account key), so a restart within a window
counts the previous process's sends instead of waiting one window blind:

- after a **clean stop** (the last process saved every limiter and marked the stop) nothing is
  unknown: a limiter with no record, or a record older than one window, starts at once;
- after a **crash** (no stop mark) the sends made after the last save are unknown, but none
  started after the process's last **lease** (:class:`~brygga.http.ratelimit.Lease`: no
  request starts unless the state file promises it may): the new limiters wait one window
  after ``min(now, lease end)`` and no longer. A process that had been quiet longer than the
  lease before it crashed left nothing to wait for;
- a state file without the mark (written by an older brygga, whose daemon may have run just
  before) is treated as a crash at this moment: one window, as before.

What a wait inherited at start still covers is passed on (``unknown_until``), so a process
stopped cleanly before that wait ended does not hand its successor a clean slate.

Writes: the saver writes the limiters that changed every :data:`SAVE_EVERY` seconds while
requests are being sent, and extends the lease with the same transaction (nothing when quiet);
the first request after a quiet spell longer than :data:`LEASE` waits for one small write
that renews the lease. The clean stop writes the rest. Each write is one transaction through
the store's group commit, all of it or nothing.

Only the process holding the state file's daemon lock keeps the limiters there (one row says
which process sends and until when): the daemon, and ``brygga replay --here``
(:func:`kept_limiters`), so a daemon started right after a replay counts its requests. A
process that may run beside a daemon (``brygga sync products``) is a visitor
(:func:`visiting_limiters`): it starts from the windows there and adds its sends to them,
never taking the row or a daemon's sends away.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from brygga.clock import Clock
from brygga.http.ratelimit import AccountWindow, Lease, RateLimit, RateLimiterRegistry
from brygga.store import LimiterStore, SavedWindow
from brygga.store.limiters import LimiterRun

__all__ = [
    "LEASE",
    "SAVE_EVERY",
    "LimiterKeeper",
    "kept_limiters",
    "unknown_until",
    "visiting_limiters",
]

log = logging.getLogger(__name__)

#: seconds between two saves while requests are being sent
SAVE_EVERY = 2.0
#: seconds a lease lets requests start (renewed by every save while busy)
LEASE = 10.0
#: seconds the clean stop may take to save the limiters
STOP_SAVE_DEADLINE = 5.0


def unknown_until(run: LimiterRun | None, now: float) -> float | None:
    """Until when (Unix seconds) sends of earlier processes nobody recorded may have started,
    given the last process's row and the time now; None: every send is in the record."""
    if run is None:  # an older brygga's state file: its daemon may have sent until now
        return now
    if run.stopped_at is not None:
        return run.unknown_until
    ended = min(now, run.lease_until)
    return ended if run.unknown_until is None else max(ended, run.unknown_until)


def _window(saved: SavedWindow) -> AccountWindow:
    return AccountWindow(
        sends=saved.sends,
        paused_until=saved.paused_until,
        allowed=saved.allowed,
        slow_start=saved.slow_start,
        limit=RateLimit(saved.limit_requests, saved.limit_seconds),
    )


def _saved(account: str, window: AccountWindow, fallback: RateLimit) -> SavedWindow:
    limit = window.limit or fallback
    return SavedWindow(
        account=account,
        sends=window.sends,
        paused_until=window.paused_until,
        allowed=float(window.allowed if window.allowed is not None else limit.requests),
        slow_start=window.slow_start,
        limit_requests=limit.requests,
        limit_seconds=limit.per_seconds,
    )


class LimiterKeeper:
    """Keeps one registry's limiters in the state file for one process (see the module)."""

    def __init__(
        self,
        store: LimiterStore,
        registry: RateLimiterRegistry,
        clock: Clock,
        lease: Lease,
        *,
        every: float = SAVE_EVERY,
    ) -> None:
        self._store = store
        self._registry = registry
        self._clock = clock
        self.lease = lease
        self._every = every
        #: saves written (for tests and benchmarks)
        self.saves = 0

    @classmethod
    async def start(
        cls,
        store: LimiterStore,
        registry: RateLimiterRegistry,
        clock: Clock,
        run_id: str,
        *,
        every: float = SAVE_EVERY,
        lease: float = LEASE,
    ) -> LimiterKeeper:
        """Read what the last process left into ``registry`` (before any limiter of it is
        created) and mark this process as running, with no lease yet."""
        memory = await store.load()
        now = clock.now()
        unknown = unknown_until(memory.run, now.timestamp())
        registry.restore(
            {account: _window(saved) for account, saved in memory.windows.items()},
            unknown_until=unknown,
        )
        await store.begin(run_id, now, unknown_until=unknown)
        held = Lease(store.renew, registry.clock or clock, length=lease)
        registry.attach_lease(held)
        return cls(store, registry, clock, held, every=every)

    async def run(self) -> None:
        """Save what changed every ``every`` seconds (until cancelled)."""
        while True:
            await self._clock.sleep(self._every)
            try:
                await self.save()
            except Exception as exc:  # the next save tries again; requests wait for a lease
                log.warning("could not save the rate limiters' windows: %s", exc)

    async def save(self, *, stopped: bool = False) -> bool:
        """Write the limiters that changed since the last save, with a longer lease (or the
        clean stop); True if something was written."""
        changed = self._registry.changed()
        if not changed and not stopped:
            return False
        limits = dict(self._registry)
        windows = [
            _saved(account, window, limits[account].limit) for account, window in changed.items()
        ]
        until, wall = self.lease.term()
        try:
            await self._store.save(
                windows,
                self._clock.now(),
                lease_until=None if stopped else wall,
                stopped=stopped,
            )
        except BaseException:
            self._registry.unsaved(changed)
            raise
        if not stopped:
            self.lease.extended(until)
        self.saves += 1
        return True

    async def stop(self) -> None:
        """The clean stop: save the rest and mark it, once no request can start any more."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(STOP_SAVE_DEADLINE):
            try:
                await self.save(stopped=True)
            except Exception as exc:
                log.warning("could not save the rate limiters' windows at the stop: %s", exc)
        self.lease.close()


@asynccontextmanager
async def kept_limiters(
    store: LimiterStore, registry: RateLimiterRegistry, clock: Clock, run_id: str
) -> AsyncIterator[LimiterKeeper]:
    """``registry``'s limiters kept in the state file while the block runs, as the daemon keeps
    them: restored from what the last process left (enter before any limiter is created),
    saved while busy, and saved with the clean stop at the end. Only for a process holding the
    daemon lock (the state file's limiter row is one process's)."""
    keeper = await LimiterKeeper.start(store, registry, clock, run_id)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(keeper.run)
            try:
                yield keeper
            finally:
                tg.cancel_scope.cancel()
    finally:
        await keeper.stop()


@asynccontextmanager
async def visiting_limiters(
    store: LimiterStore, registry: RateLimiterRegistry, clock: Clock, *, every: float = SAVE_EVERY
) -> AsyncIterator[None]:
    """``registry``'s limiters for a process without the daemon lock, which may run beside a
    daemon (``brygga sync products``). They start from the windows in the state file (enter
    before any limiter is created); a daemon running now may send until its lease ends, which
    they count as unknown, as after a crash. This process's sends are added to the stored
    windows every ``every`` seconds and at the end (:meth:`LimiterStore.merge`), so a daemon
    started after it counts them. No lease and no row of its own: a crash of this process
    leaves its last ``every`` seconds of sends unrecorded, and a daemon running at the same
    time does not count them (its next save replaces the window with its own)."""
    memory = await store.load()
    now = clock.now().timestamp()
    # no row: nothing this version ever ran kept the limiters here (a new state file)
    unknown = unknown_until(memory.run, now) if memory.run is not None else None
    registry.restore(
        {account: _window(saved) for account, saved in memory.windows.items()},
        unknown_until=unknown,
    )

    async def add_sends() -> None:
        changed = registry.changed()
        if not changed:
            return
        limits = dict(registry)
        windows = [_saved(a, w, limits[a].limit) for a, w in changed.items()]
        try:
            await store.merge(windows, clock.now())
        except BaseException:
            registry.unsaved(changed)
            raise

    async def keep_adding() -> None:
        while True:
            await clock.sleep(every)
            try:
                await add_sends()
            except Exception as exc:  # the next one tries again
                log.warning("could not save the rate limiters' windows: %s", exc)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(keep_adding)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True), anyio.move_on_after(STOP_SAVE_DEADLINE):
            try:
                await add_sends()
            except Exception as exc:
                log.warning("could not save the rate limiters' windows at the end: %s", exc)
