"""The front door of the Fortnox simulator: the token endpoint, bearer tokens, the rate limit.

Documented: API calls carry ``Authorization: Bearer {access_token}`` (reference §2.1 [doc
F3]); 300 requests a minute per client and tenant, enforced as a sliding window of 25
requests per 5 seconds, answered 429 beyond it (§2.4 [doc F6]). A failed authentication is
HTTP 403 (https://www.fortnox.se/developer/guides-and-good-to-know/responses: "403 | Forbidden
| Failed authentication"): no bearer token is 2000311 "Kan inte logga in, access-token eller
client-secret saknas(2).", an unknown, revoked or expired one 2000310 "Ogiltig inloggning"
(…/guides-and-good-to-know/errors: "The Client-Secret or the Access-Token is either missing or
is incorrect"). ``forbidden`` answers paths under a prefix 403 with a licence or scope code
(2001101 "Det finns ingen aktiv licens för önskat scope", 2001103 "Api-licens saknas."), as
for an integration without that licence. Modelled: the 429 carries ``ErrorInformation`` code
2000429 and no ``Retry-After`` (whether Fortnox sends one is [unknown]); token requests do
not count against the window.
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
_LICENCE = {
    2001101: "Det finns ingen aktiv licens för önskat scope",
    2001103: "Api-licens saknas.",
}


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
        #: path prefix -> the licence/scope code its requests are refused with (403)
        self.forbidden: dict[str, int] = {}
        #: refuse every access token (2000310), as for an integration removed in Fortnox
        self.reject_tokens = False

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
        if scheme.lower() != "bearer" or not token.strip():
            message = "Kan inte logga in, access-token eller client-secret saknas(2)."
            await _send(send, 403, to_json(error_body(2000311, message)))
            return
        if self.reject_tokens or not self.oauth.access_valid(token.strip()):
            await _send(send, 403, to_json(error_body(2000310, "Ogiltig inloggning")))
            return
        for prefix, code in self.forbidden.items():
            if path.startswith(prefix):
                message = _LICENCE.get(code, "Behörighet saknas.")
                await _send(send, 403, to_json(error_body(code, message)))
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
