"""The front door of the Fortnox simulator: the token endpoint, bearer tokens, the rate limit.

Documented: API calls carry ``Authorization: Bearer {access_token}`` (reference §2.1 [doc
F3]); 300 requests a minute per client and tenant, enforced as a sliding window of 25
requests per 5 seconds, answered 429 beyond it (§2.4 [doc F6]). Modelled: a missing, unknown
or expired token is 401 with ``ErrorInformation`` code 2000311 (the documented "missing
credentials" code); the 429 carries ``ErrorInformation`` code 2000429 and no ``Retry-After``
(whether Fortnox sends one is [unknown]); token requests do not count against the window.
"""

from __future__ import annotations

import collections
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from brygga_fortnox.simulator.oauth import OAuth
from brygga_fortnox.simulator.wire import error_body, to_json

__all__ = ["TOKEN_PATH", "Gate"]

Scope = MutableMapping[str, Any]
Asgi = Callable[[Scope, Any, Any], Awaitable[None]]
TOKEN_PATH = "/oauth-v1/token"


class Gate:
    """ASGI middleware: ``/oauth-v1/token`` itself, else a valid bearer token and a turn in
    the sliding window, then the REST app. Keeps a log of every request."""

    def __init__(self, app: Asgi, oauth: OAuth, rate_limit: tuple[int, float] | None) -> None:
        self.app = app
        self.oauth = oauth
        self.rate_limit = rate_limit
        self.starts: collections.deque[float] = collections.deque()
        #: every request that reached the simulator, as (method, path)
        self.requests: list[tuple[str, str]] = []
        #: how many requests were answered 429 by the window
        self.throttled = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = str(scope["method"]), str(scope["path"])
        self.requests.append((method, path))
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if path == TOKEN_PATH and method == "POST":
            body = await _read(receive)
            status, answer = self.oauth.token(
                headers.get(b"authorization", b"").decode("latin-1"), body
            )
            await _send(send, status, to_json(answer))
            return
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not self.oauth.access_valid(token.strip()):
            message = "Kan inte logga in, access-token eller client-secret saknas (2)."
            await _send(send, 401, to_json(error_body(2000311, message)))
            return
        if self._throttled():
            self.throttled += 1
            await _send(send, 429, to_json(error_body(2000429, "För många anrop.")))
            return
        await self.app(scope, receive, send)

    def _throttled(self) -> bool:
        if self.rate_limit is None:
            return False
        requests, window = self.rate_limit
        now = self.oauth.clock.monotonic()
        while self.starts and self.starts[0] <= now - window:
            self.starts.popleft()
        if len(self.starts) >= requests:
            return True
        self.starts.append(now)
        return False


async def _read(receive: Any) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
