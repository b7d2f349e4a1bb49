"""The one HTTP client factory every adapter uses: timeouts, rate limits, typed errors."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import math
import os
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx

from brygga.clock import Clock, SystemClock
from brygga.errors import PermanentError, TransientError
from brygga.http.accountcache import AccountCaches
from brygga.http.ratelimit import RateLimit, RateLimiter, RateLimiterRegistry
from brygga.http.tokens import TokenCache

__all__ = [
    "HttpContext",
    "HttpOutcome",
    "RemoteClient",
    "account_key",
    "describe_failure",
    "http_outcome",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

#: What became of one request, for the metrics hook: an answer (by status class) or none.
HttpOutcome = Literal["ok", "not_found", "client_error", "server_error", "timeout", "network_error"]


def http_outcome(status: int) -> HttpOutcome:
    """The outcome of an answer: 404 is ``not_found`` (a lookup that found nothing is no
    error), other 4xx ``client_error``, 5xx ``server_error``, anything below 400 ``ok``."""
    if status == 404:
        return "not_found"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    return "ok"


def account_key(host: str, *credentials: str) -> str:
    """A stable, non-reversible key for one remote account (credentials + host)."""
    digest = hashlib.sha256("\x1f".join((host, *credentials)).encode()).hexdigest()
    return f"{host}#{digest[:16]}"


def parse_retry_after(value: str | None, clock: Clock | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = (clock or SystemClock()).now()
    return max(0.0, (when - now).total_seconds())


@dataclass
class HttpContext:
    """What the daemon hands an adapter to build its client: shared limiters, a clock, one
    TLS context, and (in tests and the demo) a transport that routes to an in-process
    simulator.

    ``clock`` is the one clock of everything built here: the rate limiters and the token cache
    run on it unless they were given a clock of their own, so a test's FakeClock makes
    rate-limit waits move the fake time instead of sleeping.
    """

    #: rate limiters per remote account (on ``clock`` unless built with a clock of their own)
    limiters: RateLimiterRegistry = field(default_factory=RateLimiterRegistry)
    clock: Clock = field(default_factory=SystemClock)
    transport: httpx.AsyncBaseTransport | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    #: called after every request as (system, method, status or None, seconds, outcome): the
    #: metrics hook (status None: no answer; the outcome says timeout or network_error)
    on_request: Callable[[str, str, int | None, float, HttpOutcome], None] | None = None
    #: access tokens per remote account, shared by every adapter on this context
    tokens: TokenCache = field(default_factory=TokenCache)
    #: reference data per remote account (read once, kept for a while), shared by every
    #: adapter on this context; see :mod:`brygga.http.accountcache`
    shared: AccountCaches = field(default_factory=AccountCaches)
    #: the TLS context every client of this context shares; built on first use (see
    #: :meth:`ssl_context`) when not given
    verify: ssl.SSLContext | None = field(default=None, repr=False)
    #: how often a request answered 429 is sent again in place, after the account's limiter
    #: paused for the Retry-After time, before the 429 is raised as a TransientError (see
    #: :meth:`RemoteClient.request`); 0 raises the first one
    rate_limit_retries: int = 3
    #: the connection whose adapters build their clients on this context (see
    #: :meth:`for_connection`): an account's limiter shares its turns round-robin between
    #: connections (:class:`~brygga.http.ratelimit.RateLimiter`). None: no connection (a
    #: client built directly, e.g. in a test)
    connection: str | None = None

    def __post_init__(self) -> None:
        self.limiters.adopt_clock(self.clock)
        self.tokens.adopt_clock(self.clock)

    def for_connection(self, name: str) -> HttpContext:
        """This context for the adapters of connection ``name``: the same limiters, tokens,
        caches, clock, transport and TLS context, with requests counted as ``name``'s at the
        rate limiters."""
        if self.connection == name:
            return self
        if self.transport is None:
            self.ssl_context()  # built once, here, so that every connection shares it
        return dataclasses.replace(self, connection=name)

    def ssl_context(self) -> ssl.SSLContext:
        """The TLS context of every client built on this context, made once: loading the CA
        bundle costs about 1.7 MB and 55 ms, too much to repeat per client. Verification as
        httpx does it by default (certifi's bundle, or ``$SSL_CERT_FILE``/``$SSL_CERT_DIR``)."""
        if self.verify is None:
            self.verify = httpx.create_ssl_context()
        return self.verify


#: where a request notes when it was sent (after its turn at the rate limiter), and a
#: response when its headers came
_SENT_AT = "brygga.sent_at"
#: when the request took its turn at the limiter, on the limiter's clock
_LIMITER_AT = "brygga.limiter_at"
_ANSWERED_AT = "brygga.answered_at"


@functools.lru_cache(maxsize=512)
def _parsed(url: str) -> httpx.URL:
    """``url`` parsed (httpx validates and quotes every part: tens of µs a URL); URLs are
    immutable, so the ones a client sends again and again (a create's path) are parsed once."""
    return httpx.URL(url)


class RemoteClient:
    """An ``httpx.AsyncClient`` plus the account's rate limiter, mapping failures to typed errors.

    Every HTTP request waits its turn at the limiter (as a request of the context's
    ``connection``) and is reported to ``on_request``, also
    the ones an ``httpx.Auth`` sends again (a retry after a 401). Error messages name the
    system, method and path, never query strings, headers or bodies sent (which may carry
    secrets).
    """

    def __init__(
        self,
        *,
        system: str,
        base_url: str,
        context: HttpContext,
        account: str,
        rate_limit: RateLimit | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.system = system
        self._clock = context.clock
        self._on_request = context.on_request
        self._base = base_url.rstrip("/") + "/"
        self._client = _AsyncClient(
            base_url=self._base,
            timeout=context.timeout,
            transport=context.transport,
            # a given transport (a simulator) needs no TLS: build the shared context only when
            # httpx builds the transport
            verify=context.ssl_context() if context.transport is None else True,
            headers=dict(headers or {}),
            follow_redirects=False,
            event_hooks={"request": [self._before_send], "response": [_answered]},
        )
        # the published limit is the ceiling; the limiter adapts below it to the 429s it sees
        self._limiter: RateLimiter | None = (
            context.limiters.get(account, rate_limit) if rate_limit else None
        )
        self._retries_429 = max(0, context.rate_limit_retries)
        #: whose turn at the limiter a request of this client takes
        self._connection = context.connection

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> httpx.Response:
        """Send one request (with ``auth``, e.g. a :class:`brygga.http.tokens.BearerAuth`,
        when given). Returns any response below 500 except 429; raises TransientError for
        network failures, timeouts, 429 and 5xx.

        A 429 is sent again here, whatever the method, up to ``rate_limit_retries`` times,
        each after the account's limiter has shrunk and paused for the Retry-After time (see
        :meth:`brygga.http.ratelimit.RateLimiter.throttled`): RFC 6585 §4 defines 429 as the
        server refusing the request because of its rate ("the server is not processing the
        request"; https://www.rfc-editor.org/rfc/rfc6585#section-4), so nothing of it
        happened and repeating even a POST cannot write twice. Only when the pause fits in
        one window of the limit (rounded up to whole seconds, as Retry-After counts them): a
        longer Retry-After (a daily quota, maintenance)
        is raised at once, for the engine to retry the work item later without holding a
        worker. Without a rate limit for the account, a 429 is raised at once too.
        """
        path = path.lstrip("/")
        shown = path.split("?", 1)[0]
        # an absolute URL (a token endpoint on another host) is shown as it is, not as "/https:…"
        what = f"{self.system} {method} {shown if '://' in shown else '/' + shown}"
        url, params = self._url(path, params)
        retries = 0
        while True:
            response = await self._send(
                what, method, url, params, json, content, data, headers, auth
            )
            if response.status_code == 429:
                retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock)
                limiter = self._limiter
                if limiter is None:
                    raise TransientError(f"{what}: rate limited (429)", retry_after=retry_after)
                started_at = response.request.extensions.get(_LIMITER_AT)
                pause = limiter.throttled(retry_after, started_at)
                if retries >= self._retries_429 or pause > math.ceil(limiter.window):
                    raise TransientError(
                        f"{what}: rate limited (429)"
                        + (f", {retries + 1} times in a row" if retries else ""),
                        retry_after=retry_after,
                    )
                retries += 1
                log.debug("%s: rate limited (429), sent again after %.3g s", what, pause)
                continue
            if response.status_code >= 500:
                raise TransientError(
                    f"{what}: server error {response.status_code}",
                    retry_after=parse_retry_after(response.headers.get("Retry-After"), self._clock),
                )
            if self._limiter is not None:
                self._limiter.succeeded()
            return response

    async def _send(
        self,
        what: str,
        method: str,
        url: httpx.URL | str,
        params: Mapping[str, Any] | None,
        json: Any,
        content: bytes | str | None,
        data: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        auth: httpx.Auth | None,
    ) -> httpx.Response:
        """One request through httpx (and its auth), reported to ``on_request``: any answer,
        or a TransientError for no answer."""
        started = time.monotonic()
        try:
            response = await self._client.request(
                method,
                url,
                params=params,
                json=json,
                content=content,
                data=data,
                headers=headers,
                auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as exc:
            timed_out = isinstance(exc, httpx.TimeoutException)
            started = self._sent_at(exc, started)
            self._record(method, None, "timeout" if timed_out else "network_error", started)
            cause = describe_failure(exc, self._client.timeout)
            raise TransientError(
                f"{what}: {cause} ({self._host_of(exc)})",
                in_doubt=_may_have_landed(method, exc),
            ) from None
        except httpx.RequestError as exc:
            self._record(method, None, "network_error", self._sent_at(exc, started))
            raise
        for earlier in response.history:  # answered, then sent again (by an httpx.Auth)
            status = earlier.status_code
            sent = earlier.request.extensions.get(_SENT_AT, started)
            seconds = earlier.extensions.get(_ANSWERED_AT, sent) - sent
            self._report(method, status, http_outcome(status), seconds)
        started = float(response.request.extensions.get(_SENT_AT, started))
        self._record(method, response.status_code, http_outcome(response.status_code), started)
        return response

    def _url(
        self, path: str, params: Mapping[str, Any] | None
    ) -> tuple[httpx.URL | str, Mapping[str, Any] | None]:
        """The request's URL parsed once, with the query of ``params`` (httpx parses a relative
        path, then the path joined to the base URL, then again with the query merged: a
        third of the cost of building a request). An absolute URL (a next-page link), or a
        path with a query of its own and params to merge, is left to httpx as it is."""
        if path.startswith(("http://", "https://")) or (params and "?" in path):
            return path, params
        query = str(httpx.QueryParams(params)) if params else ""
        return _parsed(self._base + path + ("?" + query if query else "")), None

    async def _before_send(self, request: httpx.Request) -> None:
        """Every request, also one sent again: its turn at the limiter, then the time."""
        if self._limiter is not None:
            request.extensions[_LIMITER_AT] = await self._limiter.acquire(self._connection)
        request.extensions[_SENT_AT] = time.monotonic()

    @staticmethod
    def _sent_at(exc: httpx.RequestError, default: float) -> float:
        try:
            return float(exc.request.extensions.get(_SENT_AT, default))
        except RuntimeError:  # raised without its request (a hand-made transport)
            return default

    def _record(
        self, method: str, status: int | None, outcome: HttpOutcome, started: float
    ) -> None:
        self._report(method, status, outcome, time.monotonic() - started)

    def _report(
        self, method: str, status: int | None, outcome: HttpOutcome, seconds: float
    ) -> None:
        if self._on_request is not None:
            self._on_request(self.system, method, status, seconds, outcome)

    def _host_of(self, exc: httpx.RequestError) -> str:
        """The host (and a port that is not the scheme's default) the request went to; never
        the path, query, user info or anything sent."""
        try:
            url = exc.request.url
        except RuntimeError:  # raised without its request (a hand-made transport)
            url = self._client.base_url
        return f"{url.host}:{url.port}" if url.port is not None else url.host

    @staticmethod
    def expect_json(response: httpx.Response, what: str) -> Any:
        """The decoded JSON body, or a PermanentError naming what could not be read."""
        try:
            return response.json()
        except ValueError:
            raise PermanentError(
                f"{what}: the response was not valid JSON (HTTP {response.status_code})"
            ) from None


class _Cookies(httpx.Cookies):
    """httpx's cookie jar, which looks at a response only when it sets a cookie: httpx
    wraps every response and its request in urllib objects for the jar, cookie or not."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _AsyncClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose cookie jar is a :class:`_Cookies` (httpx reaches the jar
    only through the ``cookies`` property)."""

    def __init__(self, *, cookies: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._jar = _Cookies(cookies)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._jar

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._jar = _Cookies(cookies)


async def _answered(response: httpx.Response) -> None:
    response.extensions[_ANSWERED_AT] = time.monotonic()


#: failures that happen before a request can have reached the remote
_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


def describe_failure(exc: httpx.TransportError, timeout: httpx.Timeout) -> str:
    """Why a request got no answer, in words: the timeout, or the cause httpx chained under its
    error (refused, DNS, TLS, a dropped connection). Never the URL, headers or body."""
    if isinstance(exc, httpx.TimeoutException):
        return _describe_timeout(exc, timeout)
    cause = _chained_cause(exc)
    if isinstance(exc, httpx.ConnectError):
        return cause or "cannot connect"
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        if cause == _RESET:
            return "connection dropped (reset by the remote)"
        return f"connection dropped ({cause})" if cause else "connection dropped"
    if isinstance(exc, httpx.RemoteProtocolError):
        if "disconnected" in str(exc).lower():
            return "connection dropped (closed by the remote before it answered)"
        return "the answer was not valid HTTP"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "unsupported URL scheme (use https:// or http://)"
    if isinstance(exc, httpx.ProxyError):
        return f"proxy error ({cause})" if cause else "proxy error"
    if isinstance(exc, httpx.LocalProtocolError):
        return "the request was not valid HTTP"
    return cause or f"network error ({type(exc).__name__})"


def _describe_timeout(exc: httpx.TimeoutException, timeout: httpx.Timeout) -> str:
    def within(seconds: float | None) -> str:
        return f" within {seconds:g} s" if seconds is not None else ""

    if isinstance(exc, httpx.ConnectTimeout):
        return f"connect timeout, no connection{within(timeout.connect)}"
    if isinstance(exc, httpx.ReadTimeout):
        return f"read timeout, no answer{within(timeout.read)}"
    if isinstance(exc, httpx.WriteTimeout):
        return f"write timeout, the request was not sent{within(timeout.write)}"
    if isinstance(exc, httpx.PoolTimeout):
        return f"pool timeout, no free connection{within(timeout.pool)}"
    return "timed out"


def _chained_cause(exc: BaseException) -> str | None:
    """The first cause we can name among the errors chained under ``exc``."""
    for cause in _chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or cause.reason or "verification failed"
            return f"TLS certificate not accepted: {reason}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failure: {cause.reason or cause.strerror or 'handshake failed'}"
        if isinstance(cause, socket.gaierror):
            if cause.errno in _DNS_NOT_FOUND:
                return "DNS name not found"
            return f"DNS lookup failed: {cause.strerror or 'no answer'}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return _RESET
        if isinstance(cause, OSError) and isinstance(cause.errno, int) and cause.errno > 0:
            # os.strerror, not the error's own text: asyncio puts the address in that
            text = os.strerror(cause.errno)
            return text[:1].lower() + text[1:]
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``'s causes and contexts, depth first, looking into exception groups."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        following = [current.__cause__ or current.__context__]
        if isinstance(current, BaseExceptionGroup):
            following = [*current.exceptions, *following]
        stack.extend(reversed([e for e in following if e is not None]))


_RESET = "connection reset by the remote"
#: getaddrinfo's "no such name" (EAI_NODATA is Linux only)
_DNS_NOT_FOUND = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def _may_have_landed(method: str, exc: httpx.TransportError) -> bool:
    """A write whose request may have reached the remote before it failed: its outcome is
    unknown (a read timeout, a connection dropped mid-answer)."""
    return method.upper() not in ("GET", "HEAD", "OPTIONS") and not isinstance(exc, _NEVER_SENT)
