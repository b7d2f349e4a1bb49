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

**Sharing an account while both run.** The vendor counts the requests of both processes in
one window, so each limiter counts the other's sends too:

- every save (the daemon's, and a visitor's every :data:`SAVE_EVERY` seconds while busy and at
  its end) is one transaction that reads every stored window and writes back, per account that
  changed, this process's sends with the others' (:meth:`LimiterStore.exchange`). A process
  writes each of its sends as the same float every time, so the others' are the stored list
  less what it wrote the last time, as a multiset; the limiters then count those
  (:meth:`RateLimiterRegistry.absorb`). The daemon's lease and clean stop ride the same
  transaction, as before;
- a request whose process has not read the windows for 1.5 save intervals (:data:`FRESH`:
  a quiet spell; a busy process reads them with every save) reads them first, without a write
  (:class:`~brygga.http.ratelimit.SharedView`): a daemon quiet while ``sync products`` sends
  waits for the visitor's window when it starts again. Nothing is written when quiet;
- **lag**: a send shows in the other process after the sender's next save and the reader's next
  read: up to about two save intervals (4 s), longer than a window of 1 s (the 10 per 1 s brygga
  keeps to where a vendor publishes no figure, as for e-conomic). Counting alone would let both use
  the whole limit for that long, so while another process is **active** (a send of it newer than one
  window plus :data:`LAG` save intervals, 6 s), a limiter keeps its own sends in any window to
  **half** of its count, and to **one** until it knows the other counts its sends (the other wrote a
  send that started after one of this process's commits: that write read the commit). Half each
  keeps the sum within the limit whatever the lag; the one request is all the lag adds (the limit +
  1 per window, for a few seconds after one of them starts sending beside the other). Alone again
  one window and the lag after the other's last send, a limiter has the whole count back. Sends
  found at the start that are older than the last process's end are that process's, not a running
  one's: a restarted daemon keeps no margin for them.
- limits of this: the half is per process, for a daemon and one visitor (two visitors on one
  account beside a daemon may reach 1.5 times the limit); two processes that both start to
  send within one lag of each other, neither having seen the other, may both use the whole
  limit until their next saves (the vendor's 429 then shrinks both, as before); wall clocks
  are compared between processes (one machine, one clock).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace

import anyio

from brygga.clock import Clock
from brygga.http.ratelimit import (
    AccountWindow,
    Lease,
    RateLimit,
    RateLimiterRegistry,
    SharedView,
)
from brygga.store import LimiterStore, SavedWindow
from brygga.store.limiters import LimiterRun, foreign_sends

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
#: save intervals the view of the other processes' sends stays fresh without a read
FRESH = 1.5
#: save intervals another process's send may take to show here (see the module)
LAG = 3.0
#: recent writes per account whose commit time is kept (to tell what the others have read)
_COMMITS_KEPT = 32


def unknown_until(run: LimiterRun | None, now: float) -> float | None:
    """Until when (Unix seconds) sends of earlier processes nobody recorded may have started,
    given the last process's row and the time now; None: every send is in the record."""
    if run is None:  # an older brygga's state file: its daemon may have sent until now
        return now
    if run.stopped_at is not None:
        return run.unknown_until
    ended = min(now, run.lease_until)
    return ended if run.unknown_until is None else max(ended, run.unknown_until)


def _ended(run: LimiterRun | None, now: float) -> float:
    """Wall clock: the last process on the state file sent nothing after this."""
    if run is None:
        return now
    if run.stopped_at is not None:  # a stop "in the future": the wall clock was set back
        return min(now, run.stopped_at.timestamp())
    return min(now, run.lease_until)


def _window(saved: SavedWindow) -> AccountWindow:
    return AccountWindow(
        sends=saved.sends,
        paused_until=saved.paused_until,
        allowed=saved.allowed,
        slow_start=saved.slow_start,
        limit=RateLimit(saved.limit_requests, saved.limit_seconds),
    )


def _saved(
    account: str, window: AccountWindow, fallback: RateLimit, own: tuple[float, ...]
) -> SavedWindow:
    limit = window.limit or fallback
    return SavedWindow(
        account=account,
        sends=own,
        paused_until=window.paused_until,
        allowed=float(window.allowed if window.allowed is not None else limit.requests),
        slow_start=window.slow_start,
        limit_requests=limit.requests,
        limit_seconds=limit.per_seconds,
    )


class LimiterKeeper:
    """Keeps one registry's limiters in the state file for one process (see the module): the
    daemon's (:meth:`start`, with the lease) or a visitor's (:meth:`visit`)."""

    def __init__(
        self,
        store: LimiterStore,
        registry: RateLimiterRegistry,
        clock: Clock,
        lease: Lease | None,
        *,
        every: float = SAVE_EVERY,
        kept: bool = True,
    ) -> None:
        self._store = store
        self._registry = registry
        self._clock = clock
        self._lease = lease
        self._every = every
        self._kept = kept
        #: saves written (for tests and benchmarks; not the reads a request waited for)
        self.saves = 0
        #: per account: the sends this process wrote there the last time (its own, exactly
        #: as written), and (commit time, newest of them) of its recent writes
        self._written: dict[str, tuple[float, ...]] = {}
        self._commits: dict[str, list[tuple[float, float]]] = {}
        #: exchanges written so far
        self._exchanges = 0
        self.view = SharedView(
            self._refresh, registry.clock or clock, fresh=FRESH * every, lag=LAG * every
        )

    @property
    def lease(self) -> Lease:
        if self._lease is None:
            raise AttributeError("a visitor holds no lease")
        return self._lease

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
        read_at = (registry.clock or clock).monotonic()
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
        keeper = cls(store, registry, clock, held, every=every)
        # sends stored after the last process ended are a visitor's, running now
        registry.attach_view(keeper.view, active_after=_ended(memory.run, now.timestamp()))
        keeper.view.seen(read_at)  # the windows just read are the view
        return keeper

    @classmethod
    async def visit(
        cls,
        store: LimiterStore,
        registry: RateLimiterRegistry,
        clock: Clock,
        *,
        every: float = SAVE_EVERY,
    ) -> LimiterKeeper:
        """A visitor's keeper (see :func:`visiting_limiters`): ``registry`` starts from the
        windows in the state file (before any limiter of it is created)."""
        read_at = (registry.clock or clock).monotonic()
        memory = await store.load()
        now = clock.now().timestamp()
        # no row: nothing this version ever ran kept the limiters here (a new state file)
        unknown = unknown_until(memory.run, now) if memory.run is not None else None
        registry.restore(
            {account: _window(saved) for account, saved in memory.windows.items()},
            unknown_until=unknown,
        )
        keeper = cls(store, registry, clock, None, every=every, kept=False)
        # a daemon that stopped cleanly sent nothing after its stop; any other recent send
        # may be a running process's
        run = memory.run
        stopped = _ended(run, now) if run and run.stopped_at else None
        registry.attach_view(keeper.view, active_after=stopped)
        keeper.view.seen(read_at)  # the windows just read are the view
        return keeper

    async def run(self) -> None:
        """Save what changed every ``every`` seconds (until cancelled)."""
        while True:
            await self._clock.sleep(self._every)
            try:
                await self.save()
            except Exception as exc:  # the next save tries again; requests wait for a lease
                log.warning("could not save the rate limiters' windows: %s", exc)

    async def save(self, *, stopped: bool = False) -> bool:
        """Write the limiters that changed since the last save with the other processes'
        sends, with a longer lease (or the clean stop), and count the others' sends read in
        the same transaction; True if something was written."""
        if await self._exchange(stopped=stopped):
            self.saves += 1
            return True
        return False

    async def _refresh(self) -> None:
        """A request found the view of the others' sends stale: read it (no write)."""
        exchanges = self._exchanges
        try:
            memory = await self._store.load()
        except Exception as exc:  # the request goes on with what the view has
            log.warning("could not read the other processes' rate limiter windows: %s", exc)
            return
        if exchanges != self._exchanges:  # a save read them meanwhile, with what it wrote
            return
        written = self._written
        self._absorb(
            {
                account: replace(saved, sends=foreign_sends(saved.sends, written.get(account)))
                for account, saved in memory.windows.items()
            }
        )

    def _absorb(self, others: Mapping[str, SavedWindow]) -> None:
        """Count the others' sends (``others``: the stored windows with their sends only)."""
        self._registry.absorb(
            {account: AccountWindow(sends=other.sends) for account, other in others.items()},
            {
                account: counted
                for account, other in others.items()
                if (counted := self._counted(account, other.sends)) is not None
            },
        )

    async def _exchange(self, *, stopped: bool = False) -> bool:
        registry = self._registry
        changed = registry.changed()
        if not changed and not stopped:
            return False
        limiters = dict(registry)
        mono = (registry.clock or self._clock).monotonic()
        wall = self._clock.now()
        windows = [
            _saved(account, memory, limiters[account].limit, limiters[account].own_sends())
            for account, memory in changed.items()
        ]
        until = wall_until = None
        if self._lease is not None and not stopped:
            until, wall_until = self._lease.term()
        try:
            read = await self._store.exchange(
                windows,
                dict(self._written),
                wall,
                lease_until=wall_until,
                stopped=stopped,
                keep_count=self._kept,
            )
        except BaseException:
            registry.unsaved(changed)
            raise
        if until is not None and self._lease is not None:
            self._lease.extended(until)
        committed = self._clock.now().timestamp()
        self._exchanges += 1
        for window in windows:
            self._written[window.account] = window.sends
            if window.sends:
                commits = self._commits.setdefault(window.account, [])
                commits.append((committed, max(window.sends)))
                del commits[:-_COMMITS_KEPT]
        self._absorb(read.windows)
        if not stopped:
            self.view.seen(mono)
        return True

    def _counted(self, account: str, foreign: tuple[float, ...]) -> float | None:
        """The newest send of this process on ``account`` another process is known to have
        read: the newest it wrote before the newest foreign send started. Writes are one
        transaction each, and a process reads the windows when it writes its sends, so the
        write that holds a send started after this process's commit read that commit."""
        if not foreign:
            return None
        newest = foreign[-1]
        sent = [own for at, own in self._commits.get(account, ()) if at < newest]
        return max(sent) if sent else None

    async def stop(self) -> None:
        """The clean stop: save the rest and mark it, once no request can start any more (a
        visitor: save the rest)."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(STOP_SAVE_DEADLINE):
            try:
                await self._exchange(stopped=self._kept)
            except Exception as exc:
                log.warning("could not save the rate limiters' windows at the stop: %s", exc)
        if self._lease is not None:
            self._lease.close()
        self.view.close()


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
) -> AsyncIterator[LimiterKeeper]:
    """``registry``'s limiters for a process without the daemon lock, which may run beside a
    daemon (``brygga sync products``). They start from the windows in the state file (enter
    before any limiter is created); a daemon running now may send until its lease ends, which
    they count as unknown, as after a crash. Every ``every`` seconds while busy and at the end
    this process's sends are written into the stored windows and the others' sends read from
    them in one transaction (:meth:`LimiterStore.exchange`), so a daemon running beside it and
    one started after it count them, and it counts the daemon's (see the module). No lease and
    no row of its own: a crash of this process leaves its last ``every`` seconds of sends
    unrecorded."""
    keeper = await LimiterKeeper.visit(store, registry, clock, every=every)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(keeper.run)
            try:
                yield keeper
            finally:
                tg.cancel_scope.cancel()
    finally:
        await keeper.stop()
