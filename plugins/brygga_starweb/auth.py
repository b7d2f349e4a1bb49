"""Starweb OAuth2 client-credentials tokens: fetched once per API client, shared, renewed early."""

from __future__ import annotations

import logging

from brygga.clock import Clock
from brygga.errors import CredentialsRejected, PermanentError
from brygga.http.client import RemoteClient
from brygga.http.tokens import BearerAuth, Token, TokenCache
from brygga.secrets import Secret, scrub
from brygga_starweb.wire import decode_error, decode_token

__all__ = ["TokenSource"]

log = logging.getLogger(__name__)

#: OAuth2 error codes of a token endpoint that refuses the client (RFC 6749 §5.2); Starweb
#: documents ``invalid_client`` with HTTP 400 for wrong credentials (reference/shop-apis.md
#: §2.2, https://www.starweb.se/api/v2 token errors)
_REFUSED_CLIENT = frozenset({"invalid_client", "invalid_grant", "unauthorized_client"})
#: statuses of the token endpoint that refuse the client whatever the error code says
_REFUSED_STATUS = frozenset({401, 403})


class TokenSource:
    """The bearer token of one Starweb API client, kept in the daemon's shared TokenCache.

    Every adapter with the same base URL and credentials uses the same cache entry (``account``),
    so concurrent callers and other connections share one token: the first caller that finds
    none (or one about to expire) fetches it while the others wait, so there is no stampede.
    A token is renewed ``cache.margin`` seconds before ``expires_in`` runs out (at most half
    its life). :attr:`auth` puts it on API requests (an ``httpx.Auth``): a 401 gets one new
    token, shared by every request the API refused at the same time, and one retry.
    """

    def __init__(
        self,
        client: RemoteClient,
        *,
        client_id: Secret,
        client_secret: Secret,
        clock: Clock,
        shop: str,
        cache: TokenCache,
        account: str,
    ) -> None:
        self._client = client
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._shop = shop
        #: pass it as ``auth=`` to API requests (never to the token request)
        self.auth = BearerAuth(cache, account, self._fetch, clock=clock)
        #: how many tokens this source fetched (for tests and metrics)
        self.fetched = 0

    def scrub(self, text: str, *tokens: str) -> str:
        """``text`` (e.g. an error a server sent back) without the credentials, the current
        token or ``tokens`` (the ones a request carried): a server may echo what it got."""
        current = self.auth.current()
        return scrub(
            text, self._client_secret, self._client_id, *tokens, current.value if current else None
        )

    async def get(self) -> str:
        """A token that is valid for at least the cache's margin more seconds."""
        return (await self.auth.token()).value

    async def _fetch(self) -> Token:
        what = f"Starweb shop {self._shop}: token request"
        issued_at = self._clock.monotonic()
        response = await self._client.request(
            "POST",
            "token",
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id.reveal(),
                "client_secret": self._client_secret.reveal(),
            },
            headers={"Accept": "application/json"},
        )
        if response.status_code == 404:
            raise PermanentError(
                f"{what}: {self._client.system} has no /token at this base_url (404); set "
                "base_url to the shop's API root, e.g. https://SHOP.starwebserver.se/api/v2"
            )
        if response.status_code != 200:
            # Only the error code: the description of a failed login is not ours to repeat.
            error = self.scrub(decode_error(response.content).error)[:200] or (
                f"HTTP {response.status_code}"
            )
            if error in _REFUSED_CLIENT or response.status_code in _REFUSED_STATUS:
                raise self.refused(error, response.status_code)
            raise PermanentError(
                f"{what}: refused ({error}); check that the API client is enabled for the shop"
            )
        wire = decode_token(response.content)
        self.fetched += 1
        log.debug("starweb shop %s: new access token, valid %ss", self._shop, wire.expires_in)
        return Token.lasting(wire.access_token, float(wire.expires_in), issued_at=issued_at)

    def refused(self, error: str, status: int) -> CredentialsRejected:
        """The error for a token request Starweb refused: it names the shop, the config keys
        and where the secret comes from (``env:NAME``, ``file:PATH``), never a value. The
        engine holds the connection's work on it instead of failing the record."""
        shop = self._shop
        said = f"HTTP {status}" if error == f"HTTP {status}" else f"{error}, HTTP {status}"
        return CredentialsRejected(
            f"Starweb shop {shop} rejected the credentials ({said} from its token "
            f"request): fix client_id ({self._client_id.source}) and client_secret "
            f"({self._client_secret.source}) of shop {shop} in [[connection.shops]], or enable "
            "the API client in the shop's admin, then reload brygga"
        )
