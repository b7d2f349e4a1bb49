"""Starweb OAuth2 client-credentials tokens: fetched once, shared, refreshed before expiry."""

from __future__ import annotations

import logging

import anyio

from brygga.clock import Clock
from brygga.errors import PermanentError
from brygga.http.client import RemoteClient
from brygga.secrets import Secret
from brygga_starweb.wire import decode_error, decode_token

__all__ = ["TokenSource"]

log = logging.getLogger(__name__)


class TokenSource:
    """The bearer token of one Starweb API client.

    Concurrent callers share one token: the first caller that finds none (or one about to
    expire) fetches it under a lock while the others wait, so there is no stampede. A token
    is renewed ``margin`` seconds before ``expires_in`` runs out (at most half its life).
    """

    def __init__(
        self,
        client: RemoteClient,
        *,
        client_id: Secret,
        client_secret: Secret,
        clock: Clock,
        shop: str,
        margin: float = 60.0,
    ) -> None:
        self._client = client
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._shop = shop
        self._margin = margin
        self._lock = anyio.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        #: how many tokens this source fetched (for tests and metrics)
        self.fetched = 0

    def _current(self) -> str | None:
        if self._token is not None and self._clock.monotonic() < self._renew_at:
            return self._token
        return None

    async def get(self) -> str:
        """A token that is valid for at least ``margin`` more seconds."""
        token = self._current()
        if token is not None:
            return token
        async with self._lock:
            return self._current() or await self._fetch()

    async def refresh(self, rejected: str) -> str:
        """A new token after the API refused ``rejected`` (401). If another task already
        replaced that token, its replacement is returned instead of fetching again."""
        async with self._lock:
            current = self._current()
            if current is not None and current != rejected:
                return current
            return await self._fetch()

    async def _fetch(self) -> str:
        what = f"Starweb shop {self._shop}: token request"
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
            error = decode_error(response.content).error or f"HTTP {response.status_code}"
            if error == "invalid_client":
                raise PermanentError(
                    f"{what}: Starweb rejected the client credentials (invalid_client); check "
                    f"client_id and client_secret ({self._client_secret.source}) of this shop"
                )
            raise PermanentError(
                f"{what}: refused ({error}); check that the API client is enabled for the shop"
            )
        wire = decode_token(response.content)
        self.fetched += 1
        lifetime = float(wire.expires_in)
        self._token = wire.access_token
        self._renew_at = self._clock.monotonic() + lifetime - min(self._margin, lifetime / 2)
        log.debug("starweb shop %s: new access token, valid %ss", self._shop, wire.expires_in)
        return wire.access_token
