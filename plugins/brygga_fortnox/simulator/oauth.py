"""The simulated Fortnox OAuth2 token endpoint: 1 h access tokens, single-use refresh tokens.

Documented (reference/erp-apis.md §2.1 [doc F2]): ``POST /oauth-v1/token`` with
``Authorization: Basic base64(ClientId:ClientSecret)`` and a form body
``grant_type=authorization_code&code=…&redirect_uri=…`` or
``grant_type=refresh_token&refresh_token=…``; the answer is ``{access_token, refresh_token,
scope, expires_in: 3600, token_type: "bearer"}``; authorization codes live 10 minutes, access
tokens 1 hour, refresh tokens 45 days, and each refresh issues a new refresh token and
invalidates the old one.

Modelled: refusals use the standard OAuth2 error document (RFC 6749 §5.2): 401
``invalid_client`` for wrong client credentials, 400 ``invalid_grant`` for an unknown, used,
expired or revoked refresh token or code, 400 ``unsupported_grant_type`` otherwise. A refused
refresh token stays as it was (a reuse attempt does not revoke the newer one).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from brygga.clock import Clock

__all__ = ["ACCESS_SECONDS", "OAuth", "TokenAnswer"]

ACCESS_SECONDS = 3600
REFRESH_SECONDS = 45 * 24 * 3600
CODE_SECONDS = 600
SCOPE = "article companyinformation customer invoice order price"

#: (status, JSON body)
TokenAnswer = tuple[int, dict[str, Any]]


@dataclass
class _Grant:
    """A refresh token or authorization code: when it stops working, and whether it was used."""

    expires_at: float
    used: bool = False


@dataclass
class OAuth:
    """Client credentials, issued tokens and the token endpoint's logic."""

    client_id: str
    client_secret: str
    clock: Clock
    #: access token -> when it expires (clock.monotonic scale)
    access: dict[str, float] = field(default_factory=dict)
    refresh: dict[str, _Grant] = field(default_factory=dict)
    codes: dict[str, _Grant] = field(default_factory=dict)
    #: how many token answers were given, by grant type
    issued: dict[str, int] = field(default_factory=dict)

    def consent(self) -> str:
        """A refresh token as a fresh consent (the authorization-code flow) yields it."""
        token = "rt-" + secrets.token_hex(16)
        self.refresh[token] = _Grant(self.clock.monotonic() + REFRESH_SECONDS)
        return token

    def authorization_code(self) -> str:
        """A new authorization code (valid 10 minutes, once)."""
        code = "code-" + secrets.token_hex(8)
        self.codes[code] = _Grant(self.clock.monotonic() + CODE_SECONDS)
        return code

    def revoke_access(self) -> None:
        """Forget every access token (as if all expired)."""
        self.access.clear()

    def access_valid(self, token: str) -> bool:
        expires = self.access.get(token)
        return expires is not None and self.clock.monotonic() < expires

    def _client_ok(self, authorization: str) -> bool:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, _, client_secret = decoded.partition(":")
        return hmac.compare_digest(client_id, self.client_id) and hmac.compare_digest(
            client_secret, self.client_secret
        )

    def token(self, authorization: str, body: bytes) -> TokenAnswer:
        """Answer one ``POST /oauth-v1/token``."""
        if not self._client_ok(authorization):
            return 401, _oauth_error("invalid_client", "Client authentication failed")
        form = {k: v[0] for k, v in parse_qs(body.decode("latin-1")).items() if v}
        grant = form.get("grant_type", "")
        if grant == "refresh_token":
            return self._use(self.refresh, form.get("refresh_token", ""), grant)
        if grant == "authorization_code":
            return self._use(self.codes, form.get("code", ""), grant)
        return 400, _oauth_error("unsupported_grant_type", f"Unsupported grant type {grant!r}")

    def _use(self, grants: dict[str, _Grant], value: str, kind: str) -> TokenAnswer:
        held = grants.get(value)
        now = self.clock.monotonic()
        if held is None or held.used or now >= held.expires_at:
            return 400, _oauth_error("invalid_grant", "Invalid refresh token or code")
        held.used = True
        access = "at-" + secrets.token_hex(16)
        self.access[access] = now + ACCESS_SECONDS
        self.issued[kind] = self.issued.get(kind, 0) + 1
        return 200, {
            "access_token": access,
            "refresh_token": self.consent(),
            "scope": SCOPE,
            "expires_in": ACCESS_SECONDS,
            "token_type": "bearer",
        }


def _oauth_error(error: str, description: str) -> dict[str, Any]:
    return {"error": error, "error_description": description}
