"""The front door of the e-conomic simulator: the two token headers and the rate limit."""

from __future__ import annotations

import collections
import hmac
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from brygga_economic.simulator.errors import error_body
from brygga_economic.simulator.state import SimState
from brygga_economic.simulator.wire import to_json

__all__ = ["Gate"]

Scope = MutableMapping[str, Any]
Asgi = Callable[[Scope, Any, Any], Awaitable[None]]


class Gate:
    """ASGI middleware: the two token headers, then the optional per-agreement rate limit."""

    def __init__(
        self,
        app: Asgi,
        state: SimState,
        *,
        app_secret_token: str,
        agreement_grant_token: str,
        rate_limit: tuple[int, float] | None,
    ) -> None:
        self.app = app
        self.state = state
        self.app_secret_token = app_secret_token.encode()
        self.agreement_grant_token = agreement_grant_token.encode()
        self.rate_limit = rate_limit
        self.starts: collections.deque[float] = collections.deque()
        #: every request that reached the simulator, as (method, path)
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.requests.append((str(scope["method"]), str(scope["path"])))
        headers = dict(scope.get("headers", []))
        secret = headers.get(b"x-appsecrettoken")
        grant = headers.get(b"x-agreementgranttoken")
        if secret is None or grant is None:
            await self._refuse(
                send,
                401,
                "Unauthorized access (401): the X-AppSecretToken "
                "and X-AgreementGrantToken headers are required.",
            )
            return
        if not (
            hmac.compare_digest(secret, self.app_secret_token)
            and hmac.compare_digest(grant, self.agreement_grant_token)
        ):
            await self._refuse(
                send,
                401,
                "Unauthorized access (401): the X-AppSecretToken or "
                "X-AgreementGrantToken is not valid, or the grant was revoked.",
            )
            return
        retry_after = self._throttle()
        if retry_after is not None:
            await self._refuse(
                send, 429, "Too many requests.", [(b"retry-after", str(retry_after).encode())]
            )
            return
        await self.app(scope, receive, send)

    def _throttle(self) -> int | None:
        """Seconds to wait when the window is full (sliding window), else None."""
        if self.rate_limit is None:
            return None
        requests, window = self.rate_limit
        now = self.state.clock.monotonic()
        while self.starts and self.starts[0] <= now - window:
            self.starts.popleft()
        if len(self.starts) >= requests:
            return max(1, math.ceil(self.starts[0] + window - now))
        self.starts.append(now)
        return None

    async def _refuse(
        self,
        send: Any,
        status: int,
        message: str,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        hint = (
            "Send valid X-AppSecretToken and X-AgreementGrantToken headers."
            if status == 401
            else "Slow down and retry after the number of seconds in Retry-After."
        )
        code = "E00500" if status == 401 else "E00429"
        body = to_json(error_body(status, message, hint, self.state.clock.now(), error_code=code))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), *(extra or [])],
            }
        )
        await send({"type": "http.response.body", "body": body})
