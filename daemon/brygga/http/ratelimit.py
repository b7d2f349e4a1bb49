"""Sliding-window rate limits per remote account, shared by every connection that uses it.

The ceiling is the vendor's published figure (an adapter's ``Capabilities.rate_limit``, or its
``rate_limit`` option), used as it is: N requests in any T seconds, bursts allowed, so the four
or five calls of one order leave at once when the window has room. Within that ceiling the
limiter adapts to the remote's answers (AIMD, as TCP does it): a 429 takes a quarter off the
allowed count and pauses the account for the ``Retry-After`` time (one request's share of the
window when none is given: the smaller count already makes the next request wait for a turn
in the window); sustained success grows the count back to the ceiling, by one request per
window. A quarter rather than TCP's half: a sliding window answers 429 as soon as it is only
just full, and on a server that allows 20 of the 25 published the benchmark keeps 94 % of
the 20 with a quarter and 83 % with a half (``benchmarks/rate_limit.py``, 60 s after the
start-up window). A new limiter starts at half the ceiling and grows by one per success until
the first 429 ("slow start"), so it is at the ceiling after N/2 answers when nothing objects.
The registry's limiters count their window 2 % longer than published (:data:`ACCOUNT_GUARD`).

Across restarts (the daemon's state file, see :mod:`brygga.runtime.limiterstate`): a limiter
remembers its account's recent sends, pause and adapted count as an :class:`AccountWindow` on
the wall clock; the daemon saves them while busy and when it stops, and a new process's
registry is seeded with them (:meth:`RateLimiterRegistry.restore`), so a restart within a
window counts the previous process's sends instead of waiting a whole window blind. Sends
nobody could record (a process that crashed) are covered by a :class:`Lease`: no request
starts unless the state file holds a promise that covers its time, so after a crash only the
time up to the end of the last promise is unknown, and only that is waited for.

Beside another process (the daemon and a ``brygga sync products`` on one state file, see
:mod:`brygga.runtime.limiterstate`): each limiter also counts the other processes' sends that
the state file shows (:meth:`RateLimiter.absorb`), a few seconds late, and while another
process is active it keeps its own sends to half of the count (one per window while it cannot
know that the other one counts its sends): :class:`SharedView`.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Annotated

import anyio
import msgspec

from brygga.clock import Clock, SystemClock

__all__ = [
    "ACCOUNT_GUARD",
    "ACCOUNT_START",
    "DECREASE",
    "DEFAULT_RATE_LIMIT",
    "AccountWindow",
    "Lease",
    "RateLimit",
    "RateLimiter",
    "RateLimiterRegistry",
    "SharedView",
]


class RateLimit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """At most ``requests`` per ``per_seconds`` (the vendor's published figure).

    Also the type of every adapter's ``rate_limit`` option,
    ``rate_limit = { requests = 10, per_seconds = 1 }``: a config with fewer than 1 request
    or a window of 0 seconds or less is refused when it is loaded.
    """

    requests: Annotated[int, msgspec.Meta(ge=1)]
    per_seconds: Annotated[float, msgspec.Meta(gt=0)]

    def kept_under(self, margin: float = 0.9) -> RateLimit:
        """A little under the published limit (what the limiter used before it adapted to
        429s; kept for callers that want a fixed margin)."""
        return RateLimit(max(1, int(self.requests * margin)), self.per_seconds)


#: what an adapter keeps to when its vendor publishes no limit (and ``rate_limit`` is unset)
DEFAULT_RATE_LIMIT = RateLimit(10, 1.0)

#: what a 429 multiplies the allowed count by (see :class:`RateLimiter`)
DECREASE = 0.75
#: the share of the ceiling an account's limiter starts at (see :class:`RateLimiter`)
ACCOUNT_START = 0.5
#: how much longer than the published window an account's limiter counts its window (a
#: fraction of it). The server counts a request when it arrives, we when it leaves, and the
#: time between varies: without a guard, a request that travels faster than the one it
#: replaces in the window arrives too early and is refused, which shrinks the allowed count.
#: 2 % (0.1 s of Fortnox's 5 s) absorbs that jitter at 98 % of the limit's capacity
ACCOUNT_GUARD = 0.02


class AccountWindow(msgspec.Struct, frozen=True, kw_only=True):
    """What an account's limiter knows of the requests sent before it was created, on the wall
    clock (Unix seconds, UTC: the only clock two processes share).

    Built by :meth:`RateLimiter.remember` (what a process saves) and handed back to a new
    process's registry (:meth:`RateLimiterRegistry.restore`). No secrets: times and counts.
    """

    #: when the requests of the last window started (oldest first)
    sends: tuple[float, ...] = ()
    #: the account is paused until then (a Retry-After, or a wait inherited at start)
    paused_until: float | None = None
    #: requests nobody recorded (a process that crashed) may have started up to this time:
    #: nothing starts before it plus one window. None: every earlier send is in ``sends``
    unknown_until: float | None = None
    #: the count the previous limiter had adapted to, and whether it was still in slow start;
    #: used only when ``limit`` is the new limiter's ceiling too
    allowed: float | None = None
    slow_start: bool = True
    limit: RateLimit | None = None


class Lease:
    """A durable promise that requests may start until a time: no request starts (on any
    limiter holding the lease) unless the promise covers it.

    ``renew(until)`` makes the promise durable (the daemon writes it to its state file) for
    sends up to ``until`` (wall clock); the lease then holds for ``length`` seconds on the
    monotonic clock from the moment before the write. While a process is busy its saver
    extends the lease with every save (:meth:`extended`), so requests never wait for it; the
    first request after a quiet spell longer than the lease waits for one small write. After a
    crash the state file thus bounds the sends it cannot list: none after the promise ended.
    """

    def __init__(
        self,
        renew: Callable[[float], Awaitable[None]],
        clock: Clock | None = None,
        *,
        length: float = 10.0,
    ) -> None:
        if length <= 0:
            raise ValueError("a lease lasts more than 0 seconds")
        self.length = length
        self._renew = renew
        self._clock = clock or SystemClock()
        self._lock = anyio.Lock()
        #: on the monotonic clock: requests may start before this
        self.until = float("-inf")
        #: renewals written on demand (a request found the lease over)
        self.renewals = 0

    def holds(self) -> bool:
        return self._clock.monotonic() < self.until

    def term(self) -> tuple[float, float]:
        """A new term starting now: (its end on the monotonic clock, on the wall clock)."""
        return (
            self._clock.monotonic() + self.length,
            self._clock.now().timestamp() + self.length,
        )

    def extended(self, until: float) -> None:
        """The promise up to ``until`` (monotonic, from :meth:`term`) is durable now."""
        self.until = max(self.until, until)

    async def hold(self) -> None:
        """Return once the lease holds, renewing it (one write for every waiting request)."""
        async with self._lock:
            while not self.holds():
                until, wall = self.term()
                await self._renew(wall)
                self.renewals += 1
                self.extended(until)

    def close(self) -> None:
        """The process stops: requests no longer wait for a promise (and are not recorded)."""
        self.until = math.inf


class SharedView:
    """What a process knows of the other processes' sends on its accounts (the state file's
    windows, read by :mod:`brygga.runtime.limiterstate`), and how fresh that is.

    The keeper refreshes the view with every save while the process is busy (:meth:`seen`);
    a request that finds it older than ``fresh`` seconds waits for one read of the state file
    first (``refresh()``, no write), so a process quiet for a while sees what another sent
    meanwhile before it sends.
    ``lag``: the seconds another process's send may take to show (its save interval and this
    view's age, with room); a limiter stays "shared" for one window plus ``lag`` after the
    newest foreign send it knows (:meth:`RateLimiter.absorb`).
    """

    def __init__(
        self,
        refresh: Callable[[], Awaitable[None]],
        clock: Clock | None = None,
        *,
        fresh: float,
        lag: float,
    ) -> None:
        if fresh <= 0 or lag < 0:
            raise ValueError("a shared view is fresh for more than 0 seconds, with a lag >= 0")
        self.fresh = fresh
        self.lag = lag
        self._refresh = refresh
        self._clock = clock or SystemClock()
        self._lock = anyio.Lock()
        #: on the monotonic clock: the view is fresh until then
        self.until = float("-inf")
        #: refreshes a request waited for (for tests and benchmarks)
        self.refreshes = 0

    def holds(self) -> bool:
        return self._clock.monotonic() < self.until

    def seen(self, at: float) -> None:
        """The view was read at ``at`` (monotonic, taken before the read)."""
        self.until = max(self.until, at + self.fresh)

    async def hold(self) -> None:
        """Return once the view is fresh, reading it first when it is not (one read for every
        waiting request). A read that fails is logged by the refresh, and the request goes on
        with the view it has (the periodic save tries again)."""
        async with self._lock:
            if self.holds():
                return
            at = self._clock.monotonic()
            await self._refresh()
            self.refreshes += 1
            self.seen(at)

    def close(self) -> None:
        """The process stops: requests no longer read the view."""
        self.until = math.inf


class _Waiter:
    """A request waiting for its turn at a :class:`RateLimiter`."""

    __slots__ = ("arrival", "called", "group", "started", "wake")

    def __init__(self, group: str | None, called: float, arrival: int) -> None:
        self.group = group
        #: when it began to wait (limiter's clock), and its place among all waiting requests
        self.called = called
        self.arrival = arrival
        #: when its turn was given (None: still waiting)
        self.started: float | None = None
        #: set when it was given a turn, or when it is to hand out the turns
        self.wake = anyio.Event()


class RateLimiter:
    """Sliding window: a request may start when fewer than ``allowed`` started in the last
    window, ``allowed`` moving between 1 and the ceiling ``limit.requests`` (AIMD).

    ``start`` is the share of the ceiling it allows at first (1.0: all of it); until the first
    429 every answered request adds one (slow start), after it every answered request adds
    ``1 / allowed`` (one per window's worth). :meth:`throttled` (a 429) multiplies ``allowed``
    by :data:`DECREASE`, once per round of requests in flight, and pauses the account.
    ``guard`` stretches the window by that fraction of it (see :data:`ACCOUNT_GUARD`).

    What came before it: without ``memory``, a new limiter starts as if its window were full:
    its first request waits one window after the limiter was created. The server still counts
    the requests a killed (or restarted) process sent just before this one started; waiting
    one window means that any window spanning the restart holds requests of only one of the
    two processes, so the server never sees more than N from both together. With ``memory``
    (an :class:`AccountWindow` the daemon kept in its state file) the previous process's sends
    of the last window are in this window already, its pause goes on, and only sends it could
    not record (``unknown_until``) are waited for blind: a restart after a clean stop starts
    at once, with room for what the window has left.

    Slow start stays for an account the state file knows nothing of (the first run, a changed
    ceiling): the published ceiling may be more than the server lets us have (another
    integration on the account, a lowered limit), and half of it with one more per answer
    reaches the ceiling after N/2 answers while a wrong ceiling costs few 429s. It costs little
    time: answers come back in milliseconds, so the count is at the ceiling within the first
    order's requests (``benchmarks/latency.py`` on a new state file, orders from the first
    poll: p99 0.59 s with slow start, 0.60 s starting at the ceiling; the first orders wait for
    the window, not for slow start). With a memory
    of the same ceiling, the new limiter goes on from the count the previous one had adapted
    to: it is the latest evidence of what the server allows, and starting at half again would
    make the first orders after every restart queue for turns.

    ``lease``: when given, no request starts unless it holds (:class:`Lease`).

    Other processes on the account (:meth:`share`, :meth:`absorb`): the window counts this
    process's sends and the others' that the state file shows. While the newest foreign send
    it knows is less than one window plus the view's lag old, another process is **active**,
    and this limiter keeps its own sends in any window to half of ``allowed`` if the other is
    known to count this one's sends (:meth:`absorb`'s ``known_until``), else to one: the other
    may be sending at the whole limit without knowing of this one yet. Half each keeps the sum
    within the limit whatever the lag; the single request is all the lag can add.

    Turns are shared fairly between **groups** (a connection: :meth:`acquire`'s ``group``),
    not between waiting tasks: when the window has room again, the next turn goes to the
    group that has a request waiting and was served least recently (round-robin over the
    connections that wait; a group never served comes first, ties in arrival order), and
    within a group requests take their turns in arrival order. A connection with eight workers
    waiting thus gets one turn for every turn of a connection with one request waiting, not
    eight. Requests without a group (``None``: a CLI command's or a test's client) form one
    group of their own. One waiting request at a time sleeps until the window has room and
    hands out the next turn, to itself or to the request it wakes, which hands out the turn
    after it (as a lock is handed over: the fast path stays closed until the woken request
    has run, so a task that never yields cannot take the turns of one that was woken).
    """

    def __init__(
        self,
        limit: RateLimit,
        clock: Clock | None = None,
        *,
        start: float = 1.0,
        guard: float = 0.0,
        memory: AccountWindow | None = None,
        lease: Lease | None = None,
    ) -> None:
        if not 0 < start <= 1:
            raise ValueError("a rate limiter starts at a share of its ceiling in (0, 1]")
        if guard < 0:
            raise ValueError("a rate limiter's guard is a fraction of its window, at least 0")
        self.limit = limit
        self.window = limit.per_seconds * (1 + guard)
        self._clock = clock or SystemClock()
        #: this process's sends of the last window (monotonic), and when each started on the
        #: wall clock (what the state file holds of it: the same number at every save)
        self._starts: collections.deque[float] = collections.deque()
        self._walls: collections.deque[float] = collections.deque()
        #: sends this process did not make (an earlier process's, another running one's),
        #: monotonic, oldest first: they count in the window as the process's own do
        self._foreign: collections.deque[float] = collections.deque()
        #: the newest send of another *running* process it knows (monotonic), how long after
        #: it that process counts as active (one window plus the view's lag), and until when
        #: the others are known to count this process's sends
        self._foreign_newest = float("-inf")
        self._recalled = float("-inf")
        self._horizon = 0.0
        self._known_until = float("-inf")
        self._lease = lease
        self._view: SharedView | None = None
        #: requests waiting for a turn, per group (only groups with one waiting), and how many
        self._queues: dict[str | None, collections.deque[_Waiter]] = {}
        self._waiting = 0
        #: the waiting request that hands out the turns (sleeps for the window, see the
        #: class), or one just given a turn that passes the handing out on when it wakes
        self._holder: _Waiter | None = None
        #: turns taken so far, and per group the turn it took last (round-robin order)
        self._turns = 0
        self._served: dict[str | None, int] = {}
        #: waiting requests so far (ties between groups never served go in arrival order)
        self._arrivals = 0
        self._allowed = max(1.0, limit.requests * start)
        self._slow_start = self._allowed < limit.requests
        #: when ``allowed`` was last shrunk: 429s to requests started before then were
        #: answered to the same crowd and do not shrink it again
        self._decreased_at = float("-inf")
        #: 429s seen, and how often they shrank ``allowed`` (for tests and benchmarks)
        self.throttles = 0
        self.decreases = 0
        #: turns that had to wait, and the seconds they waited in all (benchmarks)
        self.waits = 0
        self.waited = 0.0
        #: moves on whenever something worth saving changed (see :meth:`remember`)
        self.changes = 0
        now = self._clock.monotonic()
        if memory is None:
            # Start conservatively (see the class docstring): nothing before one window.
            self._blocked_until = now + limit.per_seconds
        else:
            self._blocked_until = float("-inf")
            self._recall(memory, now)

    def _recall(self, memory: AccountWindow, now: float) -> None:
        """Take over what the previous process knew (``memory``, on the wall clock)."""
        wall = self._clock.now().timestamp()

        def here(at: float) -> float:  # a wall time on this limiter's clock
            return now + (at - wall)

        # a send "in the future" (the wall clock was set back): count it as sent now
        starts = sorted(min(now, here(at)) for at in memory.sends)
        self._foreign.extend(at for at in starts if at + self.window > now)
        # the newest remembered send, older than the window or not (see :meth:`share`)
        self._recalled = starts[-1] if starts else float("-inf")
        if memory.paused_until is not None:
            self._blocked_until = max(self._blocked_until, here(memory.paused_until))
        if memory.unknown_until is not None:
            blind = min(now, here(memory.unknown_until)) + self.window
            self._blocked_until = max(self._blocked_until, blind)
        if memory.allowed is not None and memory.limit == self.limit:
            self._allowed = min(float(self.limit.requests), max(1.0, memory.allowed))
            self._slow_start = memory.slow_start and self._allowed < self.limit.requests

    def remember(self) -> AccountWindow:
        """What a new process needs to go on where this one is (see :class:`AccountWindow`)."""
        now = self._clock.monotonic()
        wall = self._clock.now().timestamp()
        sends = tuple(
            sorted(
                [wall + (at - now) for at in self._foreign if at + self.window > now]
                + list(self.own_sends())
            )
        )
        paused = wall + (self._blocked_until - now) if self._blocked_until > now else None
        return AccountWindow(
            sends=sends,
            paused_until=paused,
            allowed=self._allowed,
            slow_start=self._slow_start,
            limit=self.limit,
        )

    def own_sends(self) -> tuple[float, ...]:
        """This process's sends of the last window, on the wall clock (oldest first): the same
        numbers at every call, so the state file's copy of them can be told from the others'."""
        now = self._clock.monotonic()
        pairs = zip(self._walls, self._starts, strict=True)
        return tuple(at for at, mono in pairs if mono + self.window > now)

    def share(self, view: SharedView, *, active_after: float | None = None) -> None:
        """Count the sends of other processes on its account that ``view`` shows (see the
        class). Sends it remembers from before (``memory``) newer than ``active_after`` (wall
        clock; None: all) are another running process's: the limiter starts as shared."""
        self._view = view
        self._horizon = self.window + view.lag
        now = self._clock.monotonic()
        wall = self._clock.now().timestamp()
        after = float("-inf") if active_after is None else now + (active_after - wall)
        if self._recalled > after:
            self._foreign_newest = max(self._foreign_newest, self._recalled)

    def absorb(
        self,
        sends: Iterable[float],
        *,
        active_after: float | None = None,
        counted: float | None = None,
    ) -> None:
        """The other processes' sends on this account as the state file shows them now (wall
        clock; they replace the ones known before), and the newest send of this process the
        others are known to have read (``counted``, wall clock: they count this process as
        active for one horizon after it). Sends not newer than ``active_after`` count in the
        window but say nothing of another process running. Their pauses are not taken over: a
        stored pause may be a wait of the other process's own start, and a 429 answers each
        process that sends too early on its own."""
        now = self._clock.monotonic()
        wall = self._clock.now().timestamp()

        def here(at: float) -> float:
            return now + (at - wall)

        # a send "in the future" (the wall clock was set back): count it as sent now
        foreign = sorted(min(now, here(at)) for at in sends)
        self._foreign = collections.deque(at for at in foreign if at + self.window > now)
        after = float("-inf") if active_after is None else here(active_after)
        active = [at for at in foreign if at > after]
        if active:
            self._foreign_newest = max(self._foreign_newest, active[-1])
        if counted is not None:
            self._known_until = max(self._known_until, here(counted) + self._horizon)

    def shared_cap(self, now: float | None = None) -> int:
        """How many of its own sends a window may hold now: ``allowed`` alone, half of it
        while another process is active and counts this one's sends, else one."""
        now = self._clock.monotonic() if now is None else now
        allowed = int(self._allowed)
        if now >= self._foreign_newest + self._horizon:
            return allowed
        if now < self._known_until:
            return max(1, allowed // 2)
        return 1

    @property
    def allowed(self) -> int:
        """Requests that may start in one window now (1 up to the ceiling)."""
        return int(self._allowed)

    @property
    def blocked_until(self) -> float:
        """On the limiter's clock: no request starts before this (a pause, or the start)."""
        return self._blocked_until

    async def acquire(self, group: str | None = None) -> float:
        """Wait for a turn; returns when the request started (on the limiter's clock), to be
        handed back to :meth:`throttled` if the remote answers 429.

        ``group``: the connection the request is for (its turns are shared round-robin with
        the other connections that wait, see the class); None: the group of requests that
        belong to no connection."""
        lease = self._lease
        view = self._view
        # Nobody waiting, nobody handing out turns (a turn handed out is still being handed
        # while its request has not woken) and room in the window: take the turn at once,
        # which costs no trip through the event loop.
        if (
            self._holder is None
            and (lease is None or lease.holds())
            and (view is None or view.holds())
        ):
            now = self._clock.monotonic()
            if self._room(now) is None:
                self._start(now, group)
                return now
        self._arrivals += 1
        waiter = _Waiter(group, self._clock.monotonic(), self._arrivals)
        self._queues.setdefault(group, collections.deque()).append(waiter)
        self._waiting += 1
        if self._holder is None:
            self._holder = waiter
        try:
            while waiter.started is None or self._holder is not waiter:
                if self._holder is waiter:
                    await self._dispatch(waiter)
                else:  # woken when it is handed the turns (with one of its own, or to give)
                    waiter.wake = anyio.Event()
                    await waiter.wake.wait()
        except BaseException:
            if waiter.started is None:
                self._leave(waiter)
            else:  # handed a turn, cancelled before it woke: the request is not sent
                self._give_back(waiter.started)
            if self._holder is waiter:
                self._pass()
            raise
        self._pass()
        return waiter.started

    async def _dispatch(self, me: _Waiter) -> None:
        """``me`` hands out the turns: sleep until the window has room, then give the next
        turn to the request whose turn it is (round-robin over the groups), and the handing
        out with it when that is another request."""
        lease = self._lease
        view = self._view
        # a request that waits lets the others run first, whatever its wait (as taking a free
        # lock does): the turns it hands out go to requests that are queued by then
        await anyio.lowlevel.checkpoint()
        read = False
        while True:
            if lease is not None and not lease.holds():
                await lease.hold()
                continue
            now = self._clock.monotonic()
            wait = self._room(now)
            if wait is not None:
                await self._clock.sleep(wait)
                continue
            # the window has room as far as this process knows: with a stale view of the
            # others' sends, read it first (once) and look at the window again
            if view is not None and not read and not view.holds():
                await view.hold()
                read = True
                continue
            break
        chosen = self._next()
        self._leave(chosen)
        self._start(now, chosen.group)
        chosen.started = now
        if now > chosen.called:
            self.waits += 1
            self.waited += now - chosen.called
        if chosen is not me:
            self._holder = chosen
            chosen.wake.set()

    def _pass(self) -> None:
        """The request handing out turns has its own (or gave up): the next waiting one
        hands them out now, or nobody when nobody waits."""
        if self._waiting:
            following = self._next()
            self._holder = following
            following.wake.set()
        else:
            self._holder = None

    def _next(self) -> _Waiter:
        """The waiting request whose turn is next: the head of the group served least
        recently (never: first), ties in arrival order."""
        served = self._served
        return min(
            (queue[0] for queue in self._queues.values()),
            key=lambda w: (served.get(w.group, 0), w.arrival),
        )

    def _leave(self, waiter: _Waiter) -> None:
        queue = self._queues[waiter.group]
        queue.remove(waiter)
        if not queue:
            del self._queues[waiter.group]
        self._waiting -= 1

    def _give_back(self, started: float) -> None:
        """A turn taken at ``started`` was not used: it leaves the window."""
        try:
            index = self._starts.index(started)
        except ValueError:  # the window has moved past it already
            return
        del self._starts[index]
        del self._walls[index]
        self.changes += 1

    def _start(self, now: float, group: str | None) -> None:
        """A request of ``group`` starts at ``now`` (the window has room: :meth:`_room`)."""
        self._starts.append(now)
        self._walls.append(self._clock.now().timestamp())
        self.changes += 1
        self._turns += 1
        self._served[group] = self._turns

    def _room(self, now: float) -> float | None:
        """None if a request may start at ``now``, else the seconds to wait before trying
        again."""
        if now < self._blocked_until:
            return self._blocked_until - now
        starts, walls, foreign, window = self._starts, self._walls, self._foreign, self.window
        # the same sum as the wait below: ``now - window`` may round the other way, and a
        # turn that is never free but has nothing to wait for would spin
        while starts and starts[0] + window <= now:
            starts.popleft()
            walls.popleft()
        while foreign and foreign[0] + window <= now:
            foreign.popleft()
        allowed = int(self._allowed)
        shared_until = self._foreign_newest + self._horizon
        if not foreign and now >= shared_until:  # alone, as far as it knows
            if len(starts) < allowed:
                return None
            # the turn comes when the one that makes the window full leaves it
            return starts[len(starts) - allowed] + window - now
        waits = []
        cap = self.shared_cap(now)
        if len(starts) >= cap:  # its own share of the window is full
            waits.append(starts[len(starts) - cap] + window - now)
        total = len(starts) + len(foreign)
        if total >= allowed:  # the window is full with the others' sends
            both = sorted((*starts, *foreign))
            waits.append(both[total - allowed] + window - now)
        if not waits:
            return None
        wait = max(waits)
        if now < shared_until < now + wait:  # the others stop counting before that
            wait = shared_until - now
        return wait

    def succeeded(self) -> None:
        """The remote answered a request without refusing it for its rate: grow (additive
        increase, one per success while in slow start)."""
        ceiling = float(self.limit.requests)
        if self._allowed >= ceiling:
            return
        step = 1.0 if self._slow_start else 1.0 / self._allowed
        self._allowed = min(ceiling, self._allowed + step)
        if self._allowed >= ceiling:
            self._slow_start = False
        self.changes += 1

    def throttled(self, retry_after: float | None, started_at: float | None = None) -> float:
        """The remote answered 429 to a request started at ``started_at``: shrink the allowed
        count (once for all the requests that were in flight together) and pause the whole
        account for ``retry_after`` seconds, or one request's share of the window without it
        (the smaller count makes the next request wait for its turn anyway). Returns the
        pause."""
        self.throttles += 1
        self.changes += 1
        pause = self.window / self.limit.requests if retry_after is None else max(0.0, retry_after)
        now = self._clock.monotonic()
        if started_at is None or started_at > self._decreased_at:
            self._allowed = max(1.0, self._allowed * DECREASE)
            self._slow_start = False
            self._decreased_at = now
            self.decreases += 1
        self._blocked_until = max(self._blocked_until, now + pause)
        return pause

    def penalise(self, seconds: float) -> None:
        """Hold every request of the account back for ``seconds`` (without shrinking)."""
        self.changes += 1
        self._blocked_until = max(self._blocked_until, self._clock.monotonic() + seconds)


class RateLimiterRegistry:
    """One limiter per account key (a hash of credentials + host), created on first use,
    starting at :data:`ACCOUNT_START` of its ceiling with a :data:`ACCOUNT_GUARD` window.

    Without a clock of its own, a registry runs on the clock of the
    :class:`~brygga.http.client.HttpContext` it is given to (see :meth:`adopt_clock`).

    Until :meth:`restore` is called a new limiter knows nothing of earlier processes and waits
    one window before its first request; after it, each new limiter starts from its account's
    memory (or, without one, from ``unknown_until`` alone: nothing to wait for after a clean
    stop). :meth:`attach_lease` makes every limiter hold a :class:`Lease` before a request,
    and :meth:`attach_view` makes them count other running processes' sends (:meth:`absorb`).
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        start: float = ACCOUNT_START,
        guard: float = ACCOUNT_GUARD,
    ) -> None:
        self._clock = clock
        self._start = start
        self._guard = guard
        self._limiters: dict[str, RateLimiter] = {}
        self._memory: dict[str, AccountWindow] | None = None
        self._unknown_until: float | None = None
        self._lease: Lease | None = None
        self._view: SharedView | None = None
        #: wall clock: remembered sends up to this are not another running process's
        self._active_after: float | None = None
        #: each limiter's ``changes`` when it was last handed out by :meth:`changed`
        self._saved: dict[str, int] = {}

    @property
    def clock(self) -> Clock | None:
        """The clock its limiters run on (None: the system clock)."""
        return self._clock

    @property
    def lease(self) -> Lease | None:
        return self._lease

    @property
    def unknown_until(self) -> float | None:
        """Wall clock: sends of an earlier process nobody recorded may reach up to this."""
        return self._unknown_until

    def adopt_clock(self, clock: Clock) -> None:
        """Run on ``clock`` unless the registry was given a clock of its own."""
        if self._clock is None:
            self._clock = clock

    def restore(self, memory: Mapping[str, AccountWindow], *, unknown_until: float | None) -> None:
        """What earlier processes left (by account key), and until when sends nobody recorded
        may have started (None: none). Limiters created before this call keep what they have."""
        self._memory = dict(memory)
        self._unknown_until = unknown_until

    def attach_lease(self, lease: Lease | None) -> None:
        """Limiters created from now on hold ``lease`` before every request."""
        self._lease = lease

    @property
    def view(self) -> SharedView | None:
        return self._view

    def attach_view(self, view: SharedView, *, active_after: float | None) -> None:
        """Limiters created from now on count the sends of other processes that ``view``
        shows (:meth:`RateLimiter.share`); remembered sends up to ``active_after`` (wall
        clock; None: none) are an earlier process's, not a running one's."""
        self._view = view
        self._active_after = active_after

    def absorb(self, foreign: Mapping[str, AccountWindow], counted: Mapping[str, float]) -> None:
        """The other processes' sends per account as the state file shows them now (``sends``
        of each window), and the newest send of this process they are known to have read (see
        :meth:`RateLimiter.absorb`). An account without a limiter yet keeps them for the one
        it gets."""
        for account, window in foreign.items():
            limiter = self._limiters.get(account)
            if limiter is not None:
                limiter.absorb(
                    window.sends,
                    active_after=self._active_after,
                    counted=counted.get(account),
                )
            elif self._memory is not None:
                old = self._memory.get(account) or AccountWindow()
                self._memory[account] = msgspec.structs.replace(old, sends=window.sends)

    def __iter__(self) -> Iterator[tuple[str, RateLimiter]]:
        """(account key, limiter) of every limiter created so far."""
        return iter(list(self._limiters.items()))

    def changed(self) -> dict[str, AccountWindow]:
        """The memory of every limiter that changed since the last call (all at the first)."""
        found: dict[str, AccountWindow] = {}
        for account, limiter in self._limiters.items():
            if self._saved.get(account) != limiter.changes:
                self._saved[account] = limiter.changes
                found[account] = limiter.remember()
        return found

    def unsaved(self, accounts: Iterable[str]) -> None:
        """Hand these out again at the next :meth:`changed` (their save failed)."""
        for account in accounts:
            self._saved.pop(account, None)

    def get(self, account_key: str, limit: RateLimit) -> RateLimiter:
        """The account's limiter; the first caller's ``limit`` is its ceiling (every adapter
        on one account publishes the same one)."""
        limiter = self._limiters.get(account_key)
        if limiter is None:
            limiter = RateLimiter(
                limit,
                self._clock,
                start=self._start,
                guard=self._guard,
                memory=self._recalled(account_key),
                lease=self._lease,
            )
            if self._view is not None:
                limiter.share(self._view, active_after=self._active_after)
            self._limiters[account_key] = limiter
        return limiter

    def _recalled(self, account_key: str) -> AccountWindow | None:
        if self._memory is None:
            return None
        memory = self._memory.pop(account_key, None) or AccountWindow()
        unknown = [u for u in (memory.unknown_until, self._unknown_until) if u is not None]
        if not unknown:
            return memory
        return msgspec.structs.replace(memory, unknown_until=max(unknown))
