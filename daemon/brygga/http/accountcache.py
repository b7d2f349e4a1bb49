"""Reference data read once per remote account and shared by every connection of the process.

An :class:`AccountCaches` lives in :class:`brygga.http.client.HttpContext` (``shared``), which
the daemon builds once per process, so every adapter on the same remote account (e.g. one
e-conomic agreement used by a hundred connections) gets the same :class:`AccountCache`, and
adapters on different accounts never see each other's. Per entry:

- **Read once.** :meth:`AccountCache.get` runs ``load`` for a key that has no fresh value;
  callers that ask for the same key meanwhile wait for that read (single flight) and get its
  value, or the error it raised (one failed read is reported to every waiter instead of being
  repeated by each of them in turn). An error is never kept: the next call reads again. When
  the reading task is cancelled, a waiter takes the read over.
- **A bounded life.** A value is kept ``ttl`` seconds (on the clock given when the cache was
  made), since reference data can change in the remote system; :meth:`AccountCache.forget`
  drops one sooner (e.g. when the remote refused a write that used it).
- **Bounded size.** Past ``max_entries`` the expired entries go, then the oldest.
- **Many at once.** :meth:`AccountCache.fill` keeps the entries of one whole list (e.g. every
  account's VAT code from one ``GET /accounts``) under keys of one *family* (a tuple key's
  first element, e.g. ``("vat-code", 3001)``). While it reads, a :meth:`~AccountCache.get` of
  a key of that family with no fresh value waits for the list instead of reading the one
  entry itself, then looks again (and reads it only if the list did not have it): the list
  and the single reads it covers are never both spent.

The key of a cache is (system, account, name): ``account`` is the same key the rate limiter
of that account uses (:func:`brygga.http.client.account_key`), so it never holds a secret.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar, cast

import anyio

from brygga.clock import Clock, SystemClock

__all__ = ["DEFAULT_TTL", "AccountCache", "AccountCaches"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: how long reference data is kept by default: ten minutes
DEFAULT_TTL = 600.0
#: entries per cache before expired and then the oldest ones are dropped
DEFAULT_MAX_ENTRIES = 50_000


@dataclass
class _Entry:
    value: object
    #: when it was read, and when it stops being fresh (clock.monotonic() scale)
    read_at: float
    expires_at: float


@dataclass
class _Flight:
    """One read in progress: waiters wait for ``done``, then take ``value`` or ``error``."""

    done: anyio.Event = field(default_factory=anyio.Event)
    entry: _Entry | None = None
    error: Exception | None = None


class AccountCache:
    """Values by key for one remote account, each read once and kept ``ttl`` seconds."""

    def __init__(
        self,
        clock: Clock,
        *,
        ttl: float = DEFAULT_TTL,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self.clock = clock
        self.ttl = ttl
        self.max_entries = max(1, max_entries)
        self._entries: dict[Hashable, _Entry] = {}
        self._flights: dict[Hashable, _Flight] = {}
        #: the lists being read (:meth:`fill`), by family
        self._fills: dict[Hashable, anyio.Event] = {}
        #: how many times ``load`` was run (a read of the remote), for tests and metrics
        self.loads = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _fresh(self, key: Hashable) -> _Entry | None:
        # an expired entry stays until it is read again, forgotten or trimmed, so that
        # :meth:`forget` can still say what it held (to forget what it led to)
        entry = self._entries.get(key)
        if entry is None or self.clock.monotonic() >= entry.expires_at:
            return None
        return entry

    def peek(self, key: Hashable, *, stale: bool = False) -> object | None:
        """The fresh value kept for ``key`` (with ``stale``, also an expired one not yet
        dropped), or None; never reads."""
        entry = self._entries.get(key) if stale else self._fresh(key)
        return entry.value if entry is not None else None

    async def get(
        self,
        key: Hashable,
        load: Callable[[], Awaitable[T]],
        *,
        keep: Callable[[T], bool] | None = None,
    ) -> T:
        """The value for ``key``: kept, or read now by ``load`` (once, however many callers
        ask at the same time). ``keep`` says whether a value read is kept (e.g. not a "not
        found" that may be created any moment); waiters of that read get it either way.

        A key must always load the same type: the value is returned as ``load`` made it.
        While a list of the key's family is being read (:meth:`fill`) it waits for that first."""
        while True:
            entry = self._fresh(key)
            if entry is not None:
                return cast("T", entry.value)
            flight = self._flights.get(key)
            if flight is None:
                filling = self._fills.get(_family(key))
                if filling is not None:
                    await filling.wait()
                    continue
                return await self._read(key, load, keep)
            await flight.done.wait()
            if flight.entry is not None:
                return cast("T", flight.entry.value)
            if flight.error is not None:
                raise _again(flight.error)
            # the reader was cancelled: read (or wait for the next reader) again

    async def _read(
        self, key: Hashable, load: Callable[[], Awaitable[T]], keep: Callable[[T], bool] | None
    ) -> T:
        flight = _Flight()
        self._flights[key] = flight
        try:
            self.loads += 1
            value = await load()
            now = self.clock.monotonic()
            entry = _Entry(value, now, now + self.ttl)
            flight.entry = entry
            if keep is None or keep(value):
                self._entries[key] = entry
                self._trim()
            return value
        except Exception as exc:
            flight.error = exc
            raise
        finally:
            del self._flights[key]
            flight.done.set()

    async def fill(
        self, family: Hashable, load: Callable[[], Awaitable[Mapping[Hashable, object]]]
    ) -> int:
        """Read a whole list with ``load`` (keys of ``family``: ``(family, ...)``) and keep
        each of its values that has no fresh value nor a read in progress (a single read
        that started before the list wins); return how many it kept.

        Meanwhile :meth:`get` of a key of ``family`` waits for the list, then looks again.
        A second fill of a family being filled waits for the first and reads nothing (0).
        An error or a cancellation keeps nothing and goes to the caller only: the waiters
        read their keys themselves."""
        filling = self._fills.get(family)
        if filling is not None:
            await filling.wait()
            return 0
        done = anyio.Event()
        self._fills[family] = done
        try:
            self.loads += 1
            values = await load()
            now = self.clock.monotonic()
            kept = 0
            for key, value in values.items():
                if _family(key) != family or key in self._flights or self._fresh(key) is not None:
                    continue
                self._entries[key] = _Entry(value, now, now + self.ttl)
                kept += 1
            self._trim()
            return kept
        finally:
            del self._fills[family]
            done.set()

    def forget(self, key: Hashable) -> object | None:
        """Drop ``key``'s value (the next :meth:`get` reads again); return it (also when it
        had expired), or None."""
        entry = self._entries.pop(key, None)
        return entry.value if entry is not None else None

    def clear(self) -> None:
        """Drop every value (reads in progress finish and keep theirs)."""
        self._entries.clear()

    def _trim(self) -> None:
        if len(self._entries) <= self.max_entries:
            return
        now = self.clock.monotonic()
        for key in [k for k, e in self._entries.items() if now >= e.expires_at]:
            del self._entries[key]
        excess = len(self._entries) - self.max_entries
        if excess > 0:
            oldest = sorted(self._entries, key=lambda k: self._entries[k].read_at)[:excess]
            for key in oldest:
                del self._entries[key]
            log.debug("account cache: dropped the %d oldest entries", excess)


class AccountCaches:
    """The :class:`AccountCache` of each (system, account, name); shared by every adapter
    that gets the same :class:`~brygga.http.client.HttpContext`."""

    def __init__(self) -> None:
        self._caches: dict[tuple[str, str, str], AccountCache] = {}

    def cache(
        self,
        system: str,
        account: str,
        name: str = "reference",
        *,
        clock: Clock | None = None,
        ttl: float = DEFAULT_TTL,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> AccountCache:
        """The cache of ``account`` (an account key, never a credential) in ``system``; the
        first caller's ``clock``, ``ttl`` and ``max_entries`` make it (every adapter on one
        context passes the context's clock)."""
        key = (system, account, name)
        found = self._caches.get(key)
        if found is None:
            found = AccountCache(clock or SystemClock(), ttl=ttl, max_entries=max_entries)
            self._caches[key] = found
        return found

    def __len__(self) -> int:
        return len(self._caches)


def _family(key: Hashable) -> Hashable:
    """The family of a key: a tuple's first element (``("vat-code", 3001)``), else None."""
    return key[0] if isinstance(key, tuple) and key else None


def _again(exc: Exception) -> Exception:
    """A copy of a failure to raise in another task (the same object when it cannot be
    copied), so that a hundred waiters do not pile their frames onto one traceback."""
    try:
        return copy.copy(exc)
    except Exception:
        return exc
