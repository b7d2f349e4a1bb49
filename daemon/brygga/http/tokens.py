"""Access tokens shared per remote account: one fetch at a time, renewed before they expire.

A :class:`TokenCache` lives in :class:`brygga.http.client.HttpContext`, which every connection
of the daemon shares, so two adapters (two connections, or two shops of one connection) with
the same credentials use one token. Per account key:

- **One fetch at a time.** The first caller that finds no usable token runs ``fetch`` while
  later callers wait for its outcome: they get its token, or the error it raised (one failed
  login is reported to every waiter instead of being retried by each of them in turn).
- **Renewed before expiry.** A token is renewed once ``expires_at - margin`` has passed
  (``margin`` at most half the token's life). While one caller renews it, the others keep
  using the old token as long as it has not expired.
- **401.** :meth:`TokenCache.invalidate` forgets a token the API refused, but only while it is
  still the current one, so fifty requests refused at once cause one new fetch.

Times are seconds on a :class:`~brygga.clock.Clock`'s monotonic scale; a fetch function
must measure ``issued_at``/``expires_at`` on the same clock that is given to :meth:`get`.

:class:`BearerAuth` puts a cache entry's token on requests the ``httpx`` way (an
``httpx.Auth``): a 401 forgets the refused token and the request is sent once more with a new
one.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass, field

import anyio
import httpx

from brygga.clock import Clock, SystemClock

__all__ = ["BearerAuth", "Token", "TokenCache"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Token:
    """A bearer token; ``repr`` never shows its value."""

    value: str = field(repr=False)
    #: when the remote stops accepting it (clock.monotonic() scale)
    expires_at: float
    #: when it was asked for (clock.monotonic() scale, taken before the request)
    issued_at: float

    @classmethod
    def lasting(cls, value: str, seconds: float, *, issued_at: float) -> Token:
        """A token valid ``seconds`` from ``issued_at`` (the time the request was sent)."""
        return cls(value=value, expires_at=issued_at + max(0.0, seconds), issued_at=issued_at)

    def renew_at(self, margin: float) -> float:
        """When to renew it: ``margin`` seconds before expiry, but not before half its life."""
        life = max(0.0, self.expires_at - self.issued_at)
        return self.expires_at - min(margin, life / 2)


@dataclass
class _Account:
    lock: anyio.Lock
    token: Token | None = None
    #: how many fetches finished (successfully or not)
    attempts: int = 0
    failure: Exception | None = None
    fetches: int = 0


class TokenCache:
    """Tokens by account key (e.g. :func:`brygga.http.client.account_key` of host and
    credentials). Shared by every adapter that gets the same :class:`HttpContext`."""

    def __init__(self, clock: Clock | None = None, *, margin: float = 60.0) -> None:
        self._clock = clock
        self.margin = margin
        self._accounts: dict[str, _Account] = {}

    @property
    def clock(self) -> Clock | None:
        """The clock tokens are timed on unless :meth:`get` is given one (None: the system
        clock)."""
        return self._clock

    def adopt_clock(self, clock: Clock) -> None:
        """Time tokens on ``clock`` unless the cache was given a clock of its own."""
        if self._clock is None:
            self._clock = clock

    def __repr__(self) -> str:
        return f"TokenCache(accounts={len(self._accounts)}, margin={self.margin})"

    def _account(self, account: str) -> _Account:
        entry = self._accounts.get(account)
        if entry is None:
            entry = self._accounts[account] = _Account(lock=anyio.Lock())
        return entry

    def current(self, account: str) -> Token | None:
        """The account's cached token, valid or not (None when there is none)."""
        entry = self._accounts.get(account)
        return entry.token if entry else None

    def fetches(self, account: str) -> int:
        """How many tokens were fetched for the account through this cache."""
        entry = self._accounts.get(account)
        return entry.fetches if entry else 0

    async def get(
        self,
        account: str,
        fetch: Callable[[], Awaitable[Token]],
        *,
        clock: Clock | None = None,
    ) -> Token:
        """A usable token for ``account``, fetched with ``fetch`` when there is none or it is
        due for renewal. ``clock`` is the clock the fetched token's times are measured on
        (default: the cache's own, else the system clock)."""
        clock = clock or self._clock or SystemClock()
        entry = self._account(account)
        token = entry.token
        now = clock.monotonic()
        if token is not None:
            if now < token.renew_at(self.margin):
                return token
            if now < token.expires_at and entry.lock.locked():
                return token  # another task is renewing it; this one is still good
        seen = entry.attempts
        async with entry.lock:
            if entry.attempts != seen:
                # A fetch finished while this caller waited: share its outcome.
                if entry.token is not None and entry.failure is None:
                    return entry.token
                if entry.failure is not None:
                    raise _again(entry.failure)
            token = entry.token
            if token is not None and clock.monotonic() < token.renew_at(self.margin):
                return token
            previous = token
            try:
                token = await fetch()
            except Exception as exc:
                entry.attempts += 1
                if previous is not None and clock.monotonic() < previous.expires_at:
                    # An early renewal failed: the old token still works; try again next time.
                    log.info("renewing the access token for %s failed: %s", _host(account), exc)
                    entry.failure = None
                    return previous
                entry.failure = exc
                raise
            entry.attempts += 1
            entry.failure = None
            entry.fetches += 1
            entry.token = token
            log.debug("new access token for %s", _host(account))
            return token

    def invalidate(self, account: str, token: Token) -> bool:
        """Forget ``token`` after the remote refused it (401), unless another task already
        replaced it; return whether it was forgotten. The next :meth:`get` fetches anew."""
        entry = self._accounts.get(account)
        if entry is None or entry.token is None or entry.token.value != token.value:
            return False
        entry.token = None
        return True


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>`` on every request, the token kept in a
    :class:`TokenCache` entry and fetched with ``fetch`` when there is none (or it is due for
    renewal). A 401 forgets the refused token (only while it is still the cache's current
    one, so many requests refused at once cause one fetch) and sends the request once more
    with a new token; a second 401 is the caller's to report. Async clients only.

    Pass it per request (``client.request(..., auth=...)``), not as the client's default:
    the token request itself must go out without it.
    """

    def __init__(
        self,
        cache: TokenCache,
        account: str,
        fetch: Callable[[], Awaitable[Token]],
        *,
        clock: Clock | None = None,
    ) -> None:
        self._cache = cache
        self._account = account
        self._fetch = fetch
        self._clock = clock

    def __repr__(self) -> str:
        return f"BearerAuth(account={_host(self._account)!r})"

    async def token(self) -> Token:
        """A usable token of the account (see :meth:`TokenCache.get`)."""
        return await self._cache.get(self._account, self._fetch, clock=self._clock)

    def current(self) -> Token | None:
        """The account's cached token, valid or not."""
        return self._cache.current(self._account)

    async def refused(self, response: httpx.Response) -> bool:
        """Whether ``response`` refuses the request's token, so that a new one is fetched and
        the request sent once more: a 401 (a vendor that documents more overrides this, and
        may read the answer's body here)."""
        return response.status_code == 401

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if not await self.refused(response):
            return
        self._cache.invalidate(self._account, token)
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token.value}"
        yield request

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("BearerAuth works with httpx.AsyncClient only")


def _again(exc: Exception) -> Exception:
    """A copy of a failure to raise in another task (the same object when it cannot be copied)."""
    try:
        return copy.copy(exc)
    except Exception:
        return exc


def _host(account: str) -> str:
    """The printable part of an account key (``host#digest`` → ``host``)."""
    return account.split("#", 1)[0]
