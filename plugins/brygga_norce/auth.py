"""Norce OAuth2 client-credentials tokens ([NO1]): fetched once per integration user, shared."""

from __future__ import annotations

import logging

from brygga.clock import Clock
from brygga.errors import CredentialsRejected, PermanentError
from brygga.http.client import RemoteClient
from brygga.http.tokens import BearerAuth, Token, TokenCache
from brygga.secrets import Secret, scrub
from brygga_norce.wire import TokenWire, decode, decode_error

__all__ = ["TokenSource"]

log = logging.getLogger(__name__)


class TokenSource:
    """The bearer token of one Norce integration user, kept in the daemon's TokenCache.

    Norce limits the token endpoint to 3 requests a minute per IP (plus a burst of 20) and
    answers 429 beyond it, so the token is cached for its 3600 s and shared by every adapter
    with the same credentials (``account``); :attr:`auth` renews it once on a 401."""

    def __init__(
        self,
        client: RemoteClient,
        *,
        token_url: str,
        client_id: Secret,
        client_secret: Secret,
        scope: str,
        clock: Clock,
        shop: str,
        cache: TokenCache,
        account: str,
    ) -> None:
        self._client = client
        self._url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._clock = clock
        self._shop = shop
        self.auth = BearerAuth(cache, account, self._fetch, clock=clock)
        self.fetched = 0

    def scrub(self, text: str, *tokens: str) -> str:
        """``text`` without the credentials or tokens (a server may echo what it got)."""
        current = self.auth.current()
        return scrub(
            text, self._client_secret, self._client_id, *tokens, current.value if current else None
        )

    async def get(self) -> str:
        return (await self.auth.token()).value

    async def _fetch(self) -> Token:
        what = f"Norce shop {self._shop}: token request"
        issued_at = self._clock.monotonic()
        response = await self._client.request(
            "POST",
            self._url,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id.reveal(),
                "client_secret": self._client_secret.reveal(),
                "scope": self._scope,
            },
            headers={"Accept": "application/json"},
        )
        if response.status_code == 404:
            raise PermanentError(
                f"{what}: there is no token endpoint at this address (404); set base_url to "
                "https://SLUG.api-se[.playground|.stage].norce.tech or token_url to the "
                "identity endpoint"
            )
        if response.status_code != 200:
            error = self.scrub(decode_error(response.content).error or "")[:100] or (
                f"HTTP {response.status_code}"
            )
            if error in ("invalid_client", "unauthorized_client") or response.status_code == 401:
                raise CredentialsRejected(
                    f"Norce shop {self._shop} rejected the credentials ({error}): fix client_id "
                    f"({self._client_id.source}) and client_secret ({self._client_secret.source}) "
                    f"of shop {self._shop} in [[connection.shops]] (Norce Admin: Settings → "
                    "Users → OAUTH), then reload brygga"
                )
            if error == "invalid_scope":
                raise PermanentError(
                    f"{what}: Norce refused scope {self._scope!r} (invalid_scope); set "
                    "environment to the one the integration user belongs to (playground, "
                    "stage or prod)"
                )
            raise PermanentError(f"{what}: refused ({error}); check the integration user")
        wire = decode(response.content, TokenWire, what)
        self.fetched += 1
        log.debug("norce shop %s: new access token, valid %ss", self._shop, wire.expires_in)
        return Token.lasting(wire.access_token, float(wire.expires_in), issued_at=issued_at)
