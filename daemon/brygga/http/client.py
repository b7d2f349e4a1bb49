"""The one HTTP client factory every adapter uses: timeouts, rate limits, typed errors."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from brygga.clock import Clock, SystemClock
from brygga.errors import PermanentError, TransientError
from brygga.http.ratelimit import RateLimit, RateLimiter, RateLimiterRegistry
from brygga.http.tokens import TokenCache

__all__ = [
    "HttpContext",
    "RemoteClient",
    "account_key",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


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
    """What the daemon hands an adapter to build its client: shared limiters, a clock, and
    (in tests and the demo) a transport that routes to an in-process simulator."""

    limiters: RateLimiterRegistry = field(default_factory=RateLimiterRegistry)
    clock: Clock = field(default_factory=SystemClock)
    transport: httpx.AsyncBaseTransport | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    #: called after every request as (system, method, status or None, seconds): the metrics hook
    on_request: Callable[[str, str, int | None, float], None] | None = None
    #: access tokens per remote account, shared by every adapter on this context
    tokens: TokenCache = field(default_factory=TokenCache)


class RemoteClient:
    """An ``httpx.AsyncClient`` plus the account's rate limiter, mapping failures to typed errors.

    Error messages name the system, method and path, never query strings, headers or bodies
    sent (which may carry secrets).
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
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            timeout=context.timeout,
            transport=context.transport,
            headers=dict(headers or {}),
            follow_redirects=False,
        )
        self._limiter: RateLimiter | None = (
            context.limiters.get(account, rate_limit.kept_under()) if rate_limit else None
        )

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
    ) -> httpx.Response:
        """Send one request. Returns any response below 500 except 429; raises
        TransientError for network failures, timeouts, 429 and 5xx."""
        what = f"{self.system} {method} /{path.lstrip('/').split('?', 1)[0]}"
        if self._limiter is not None:
            await self._limiter.acquire()
        started = time.monotonic()
        status: int | None = None
        try:
            response = await self._client.request(
                method,
                path.lstrip("/"),
                params=params,
                json=json,
                content=content,
                data=data,
                headers=headers,
            )
            status = response.status_code
        except httpx.TimeoutException as exc:
            raise TransientError(
                f"{what}: timed out", in_doubt=_may_have_landed(method, exc)
            ) from None
        except httpx.TransportError as exc:
            raise TransientError(
                f"{what}: {type(exc).__name__}", in_doubt=_may_have_landed(method, exc)
            ) from None
        finally:
            if self._on_request is not None:
                self._on_request(self.system, method, status, time.monotonic() - started)
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock)
            if self._limiter is not None:
                self._limiter.penalise(retry_after if retry_after is not None else 5.0)
            raise TransientError(f"{what}: rate limited (429)", retry_after=retry_after)
        if response.status_code >= 500:
            raise TransientError(
                f"{what}: server error {response.status_code}",
                retry_after=parse_retry_after(response.headers.get("Retry-After"), self._clock),
            )
        return response

    @staticmethod
    def expect_json(response: httpx.Response, what: str) -> Any:
        """The decoded JSON body, or a PermanentError naming what could not be read."""
        try:
            return response.json()
        except ValueError:
            raise PermanentError(
                f"{what}: the response was not valid JSON (HTTP {response.status_code})"
            ) from None


#: failures that happen before a request can have reached the remote
_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


def _may_have_landed(method: str, exc: httpx.TransportError) -> bool:
    """A write whose request may have reached the remote before it failed: its outcome is
    unknown (a read timeout, a connection dropped mid-answer)."""
    return method.upper() not in ("GET", "HEAD", "OPTIONS") and not isinstance(exc, _NEVER_SENT)
