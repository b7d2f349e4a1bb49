"""Fortnox OAuth2: 1 h access tokens from single-use, rotating refresh tokens.

Documented (reference/erp-apis.md §2.1 [doc F2]): ``POST https://apps.fortnox.se/oauth-v1/token``
with ``Authorization: Basic base64(ClientId:ClientSecret)`` and
``grant_type=refresh_token&refresh_token=…`` answers ``{access_token, refresh_token,
expires_in: 3600, …}``; every refresh issues a new refresh token and invalidates the old one
(45 days). A refresh token used twice is refused, so two workers refreshing the same token
lose one of them (§2.10).

How brygga keeps one refresher per tenant ([chosen]):

- The config holds only the **initial** refresh token (a Secret). The current one lives in the
  daemon's durable adapter state (``AdapterContext.state``) under the account
  ``fortnox:<digest of client id and initial refresh token>`` (one consent of one tenant; a
  new consent put in the config starts a fresh account), key ``refresh_token``.
- In one process the shared :class:`~brygga.http.tokens.TokenCache` runs one fetch at a time
  per account. Each fetch first re-reads the state: an access token another process stored
  with more than 2 minutes left is used as it is. Otherwise it refreshes with the stored
  refresh token (the initial one when none is stored), and **stores the new refresh token
  (compare-and-set over the one it used) and the new access token before it uses them**.
- A refresh that is refused (``invalid_grant``) re-reads the state: when another process
  rotated the token meanwhile, its result is used (or its refresh token tried); when nothing
  changed the token is dead and the error says to reconnect brygga in Fortnox.
- A refresh whose answer is lost (a dropped connection after Fortnox rotated) leaves a dead
  refresh token behind; nothing can recover it but a new consent. Such a failure is a
  TransientError the first time and the refusal that follows names the fix.

A request refused for its access token (:func:`failed_authentication`: a 401, or a 403 with
the documented authentication codes 2000310 "Ogiltig inloggning" / 2000311 "Kan inte logga
in, access-token eller client-secret saknas(2)"; the responses page lists "403 | Forbidden |
Failed authentication") drops that token and is sent once more with a new one
(:class:`FortnoxBearerAuth`); refused again, it is the API client's CredentialsRejected. A 403
with another code (2001101 no licence for the scope, 2001103 no API licence) is no
authentication failure and is not retried.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import datetime, timedelta

import httpx
import msgspec

from brygga.accountstate import AdapterStateStore
from brygga.clock import Clock
from brygga.errors import CredentialsRejected, PermanentError, TransientError
from brygga.http.client import RemoteClient
from brygga.http.tokens import BearerAuth, Token, TokenCache
from brygga.secrets import scrub
from brygga_fortnox import wire

__all__ = [
    "ACCESS_KEY",
    "AUTHENTICATION_CODES",
    "REFRESH_KEY",
    "FortnoxBearerAuth",
    "RotatingTokens",
    "failed_authentication",
    "tenant_account",
]

log = logging.getLogger(__name__)

REFRESH_KEY = "refresh_token"
ACCESS_KEY = "access_token"
#: a stored access token is used only with at least this much life left
MIN_LIFE = 120.0
#: how often a refusal is answered by re-reading the state before giving up
ATTEMPTS = 3
#: the documented codes of a failed authentication (errors page: 2000310, 2000311)
AUTHENTICATION_CODES = frozenset({"2000310", "2000311"})


def failed_authentication(response: httpx.Response) -> bool:
    """Whether Fortnox refused the request's access token: any 401, or a 403 whose
    ``ErrorInformation`` code is one of :data:`AUTHENTICATION_CODES` (a 403 with a licence or
    scope code, or none, is not)."""
    if response.status_code == 401:
        return True
    if response.status_code != 403:
        return False
    try:
        _, code = wire.error_text(msgspec.json.decode(response.content))
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return False
    return code.strip() in AUTHENTICATION_CODES


class FortnoxBearerAuth(BearerAuth):
    """:class:`BearerAuth` that also takes Fortnox's documented 403 "failed authentication"
    as a refused token: the token is dropped and the request sent once more with a new one."""

    async def refused(self, response: httpx.Response) -> bool:
        if response.status_code == 403:
            await response.aread()  # small: an ErrorInformation document
        return failed_authentication(response)


class _Grant(msgspec.Struct, frozen=True):
    access_token: str
    refresh_token: str
    expires_in: float = 3600.0


class _Stored(msgspec.Struct, frozen=True):
    token: str
    expires: datetime


def tenant_account(client_id: str, initial_refresh_token: str) -> str:
    """The adapter-state account of one consent of one tenant (never reversible)."""
    digest = hashlib.sha256(f"{client_id}\x1f{initial_refresh_token}".encode()).hexdigest()
    return f"fortnox:{digest[:20]}"


class RotatingTokens:
    """Access tokens for one tenant, from refresh tokens kept in the adapter state."""

    def __init__(
        self,
        *,
        client: RemoteClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        initial_refresh_token: str,
        state: AdapterStateStore,
        cache: TokenCache,
        clock: Clock,
    ) -> None:
        self._client = client
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._initial = initial_refresh_token
        self._state = state
        self._clock = clock
        self.account = tenant_account(client_id, initial_refresh_token)
        self.auth = FortnoxBearerAuth(cache, self.account, self._fetch, clock=clock)
        #: the last access token this source handed out (a stored one equal to it was refused
        #: or is due for renewal, so it is not taken again)
        self._handed: str | None = None
        #: refresh requests this source sent (tests)
        self.refreshes = 0

    def secrets(self) -> tuple[str, ...]:
        """Values no message may show."""
        current = self.auth.current()
        return tuple(
            s
            for s in (self._client_secret, self._client_id, self._initial, self._handed,
                      current.value if current else None)
            if s
        )  # fmt: skip

    async def _stored_access(self) -> Token | None:
        raw = await self._state.get(self.account, ACCESS_KEY)
        if raw is None:
            return None
        try:
            stored = msgspec.json.decode(raw, type=_Stored)
        except msgspec.DecodeError:
            return None
        left = (stored.expires - self._clock.now()).total_seconds()
        if stored.token == self._handed or left < MIN_LIFE:
            return None
        return Token.lasting(stored.token, left, issued_at=self._clock.monotonic())

    async def _fetch(self) -> Token:
        for _ in range(ATTEMPTS):
            stored = await self._stored_access()
            if stored is not None:
                self._handed = stored.value
                return stored
            current = await self._state.get(self.account, REFRESH_KEY)
            refresh = current.decode() if current is not None else self._initial
            issued_at = self._clock.monotonic()
            grant = await self._refresh(refresh)
            if grant is None:
                if await self._state.get(self.account, REFRESH_KEY) != current:
                    log.info("fortnox: another process rotated the refresh token; reading it")
                    continue
                raise CredentialsRejected(
                    "Fortnox rejected the credentials: it refused the refresh token (used "
                    "before, expired after 45 days or revoked); fix: connect brygga to Fortnox "
                    "again, put the new refresh token in [connection.erp] refresh_token and "
                    "reload brygga"
                )
            now = self._clock.now()
            new = grant.refresh_token.encode()
            if not await self._state.replace(self.account, REFRESH_KEY, current, new, now):
                log.warning("fortnox: the stored refresh token changed during a refresh")
            expires = now + timedelta(seconds=grant.expires_in)
            stored_access = msgspec.json.encode(_Stored(grant.access_token, expires))
            await self._state.put(self.account, ACCESS_KEY, stored_access, now)
            self._handed = grant.access_token
            return Token.lasting(grant.access_token, grant.expires_in, issued_at=issued_at)
        raise CredentialsRejected(
            "Fortnox rejected the credentials: it kept refusing refresh tokens that other "
            "processes rotated; fix: check that only brygga uses this Fortnox connection, "
            "connect brygga to Fortnox again and reload brygga"
        )

    async def _refresh(self, refresh: str) -> _Grant | None:
        """A new grant, or None when Fortnox refused the refresh token (``invalid_grant``)."""
        basic = base64.b64encode(f"{self._client_id}:{self._client_secret}".encode()).decode()
        self.refreshes += 1
        try:
            response = await self._client.request(
                "POST",
                self._token_url,
                data={"grant_type": "refresh_token", "refresh_token": refresh},
                headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
            )
        except TransientError as exc:
            # never "in doubt" for the caller: a token request is no write of the caller's
            # (whether it spent the refresh token shows on the next attempt)
            raise TransientError(
                f"{exc} (refreshing the Fortnox access token)", retry_after=exc.retry_after
            ) from None
        try:
            body = msgspec.json.decode(response.content)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            body = None
        if response.status_code == 200:
            try:
                return msgspec.convert(body, _Grant)
            except msgspec.ValidationError:
                raise PermanentError(
                    "Fortnox's token endpoint answered 200 without an access and a refresh "
                    "token; the refresh token used is now spent: connect brygga to Fortnox "
                    "again (check token_url if this repeats)"
                ) from None
        message, code = wire.error_text(body)
        if code == "invalid_grant":
            return None
        said = scrub(f"{message} ({code})" if code else message, *self.secrets(), refresh)
        if response.status_code == 401 or code == "invalid_client":
            raise CredentialsRejected(
                "Fortnox rejected the credentials (HTTP "
                f"{response.status_code}{': ' + said[:200] if said else ''}): fix client_id "
                "and client_secret of the integration in [connection.erp], then reload brygga"
            )
        raise PermanentError(
            f"Fortnox's token endpoint answered HTTP {response.status_code}"
            f"{': ' + said[:200] if said else ''}; check token_url"
        )
