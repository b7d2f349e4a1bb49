"""A thin client for the modelled Hogia API: OAuth2 tokens, JSON, paging and readable errors.

Tokens: client credentials at ``token_url`` (§4.2 [H3][H5]), kept in the daemon's shared
TokenCache and renewed early; a 401 gets one new token and one retry (core ``BearerAuth``).
Rejected credentials (wire assumption 10) are a :class:`~brygga.errors.CredentialsRejected`,
on which the sync engine holds the connection's work instead of failing the record: the
token endpoint refusing the client (``invalid_client``/``invalid_grant``/
``unauthorized_client``, or HTTP 401), or the API answering 401 to the new token too. A 403
(the API client lacks a right) stays the refusal of that request.
Hostile answers as in the other adapters: an unreadable 2xx to a *write* is a TransientError
(the write probably happened; the next attempt looks it up by reference); a 2xx read that is
not JSON at all is a TransientError (proxy or maintenance page); JSON of the wrong shape is a
PermanentError. Paging asks ``page`` 1, 2, … of its own base URL until ``totalItems`` are
read; a page repeated byte for byte, or more than 10,000 pages, stops with a PermanentError.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any, TypeVar

import httpx
import msgspec

from brygga.clock import Clock
from brygga.errors import CredentialsRejected, PermanentError, TransientError
from brygga.http.answers import DECODE_FAILURES, MAX_DETAILS, body_kind
from brygga.http.client import RemoteClient
from brygga.http.jsonapi import JsonApi
from brygga.http.tokens import BearerAuth, Token, TokenCache
from brygga.secrets import Secret, scrub
from brygga_hogia import wire

__all__ = ["HogiaApi", "NotFoundError"]

T = TypeVar("T")

#: OAuth2 error codes of a token endpoint that refuses the client (RFC 6749 §5.2)
_REFUSED_CLIENT = frozenset({"invalid_client", "invalid_grant", "unauthorized_client"})


def _details(content: bytes) -> list[str]:
    """What an error body says, from either documented form (wire assumption 8)."""
    try:
        problem = msgspec.json.decode(content, type=wire.Problem)
    except msgspec.ValidationError:
        problem = None
    except msgspec.DecodeError:
        return [body_kind(content)]
    except DECODE_FAILURES:
        return []
    if problem is not None:
        found = [
            f"{field}: {'; '.join(str(m) for m in messages[:3])}"
            for field, messages in list(problem.errors.items())[: MAX_DETAILS + 1]
        ]
        return found or ([problem.title] if problem.title.strip() else [])
    try:
        items = msgspec.json.decode(content, type=list[wire.ProblemItem])
    except DECODE_FAILURES:
        return []
    return [
        ": ".join(p for p in (i.error_code.strip(), i.message.strip()) if p)
        for i in items[: MAX_DETAILS + 1]
    ]


class NotFoundError(PermanentError):
    """Hogia answered 404: no such record."""


class HogiaApi(JsonApi):
    """Requests with a bearer token, typed decoding and paging; errors never show secrets."""

    system = "Hogia"
    credentials = "the access token"
    unauthorized = "check client_id, client_secret and organization_id in [connection.erp]"
    forbidden = (
        "give the API client access to contacts, articles and customer invoices "
        "of this organisation"
    )
    not_found = NotFoundError
    auth: BearerAuth

    def __init__(
        self,
        client: RemoteClient,
        token_client: RemoteClient,
        *,
        token_path: str,
        client_id: Secret,
        client_secret: Secret,
        cache: TokenCache,
        account: str,
        clock: Clock,
        organization: str,
    ) -> None:
        self.client = client
        self._organization = organization
        self._token_client = token_client
        self._token_path = token_path
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self.auth = BearerAuth(cache, account, self._fetch, clock=clock)

    async def aclose(self) -> None:
        await super().aclose()
        await self._token_client.aclose()

    def scrub(self, text: str) -> str:
        current = self.auth.current()
        return scrub(text, self._client_secret, self._client_id, current.value if current else None)

    async def _fetch(self) -> Token:
        issued_at = self._clock.monotonic()
        response = await self._token_client.request(
            "POST",
            self._token_path,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id.reveal(),
                "client_secret": self._client_secret.reveal(),
            },
            headers={"Accept": "application/json"},
        )
        if response.status_code != 200:
            try:
                code = msgspec.json.decode(response.content, type=wire.TokenError).error
            except DECODE_FAILURES:
                code = ""
            code = self.scrub(code.strip())[:60]
            if code in _REFUSED_CLIENT or response.status_code == 401:
                said = f"{code}, " if code else ""
                raise self.rejected(f"{said}HTTP {response.status_code} from its token endpoint")
            raise PermanentError(
                f"Hogia's token endpoint refused the token request (HTTP "
                f"{response.status_code}{', ' + code if code else ''}): check token_url, "
                "client_id and client_secret in [connection.erp]"
            )
        try:
            answer = msgspec.json.decode(response.content, type=wire.TokenAnswer)
        except msgspec.ValidationError as exc:
            raise PermanentError(
                f"Hogia's token endpoint answered without a usable token ({str(exc)[:200]}); "
                "check token_url in [connection.erp]"
            ) from None
        except DECODE_FAILURES:
            raise TransientError(
                f"Hogia's token endpoint sent {body_kind(response.content)}, not a token; "
                "usually a proxy or maintenance page, so brygga retries"
            ) from None
        return Token.lasting(answer.access_token, float(answer.expires_in), issued_at=issued_at)

    def rejected(self, said: str) -> CredentialsRejected:
        """The error for credentials Hogia rejected (``said``: how): it names the
        organisation and the config keys with where the secrets come from, never a value."""
        org = self._organization
        return CredentialsRejected(
            self.scrub(
                f"Hogia organisation {org} rejected the credentials ({said}): fix client_id "
                f"({self._client_id.source}) and client_secret ({self._client_secret.source}) "
                "in [connection.erp], or check that the API client is active and connected to "
                f"organisation {org} (organization_id), then reload brygga"
            )
        )

    def fail(self, response: httpx.Response, what: str) -> PermanentError:
        """A 401 after the one new token :class:`BearerAuth` fetched is a
        :class:`CredentialsRejected`; anything else the refusal of the request."""
        if response.status_code == 401:
            return self.rejected(f"HTTP 401 to a new access token, while working on {what}")
        return super().fail(response, what)

    def encode(self, body: Any) -> bytes:
        return wire.encode_json(body)

    def details(self, content: bytes) -> list[str]:
        return _details(content)

    def pages(
        self,
        path: str,
        type_: type[T],
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        page_size: int = wire.MAX_PAGE_SIZE,
    ) -> AsyncGenerator[T, None]:
        """Every item of a list, page by page, until ``totalItems`` (wire assumption 2)."""
        return self.numbered_pages(
            path,
            wire.Page[type_],  # type: ignore[valid-type]
            what,
            query=lambda number: {**(params or {}), "page": number, "pageSize": page_size},
            items=lambda page: page.items,
            last=lambda page, _number, read: read >= page.total_items,
        )
