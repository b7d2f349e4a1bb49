"""A thin Fortnox REST client over RemoteClient: bearer auth, wrapped JSON, paging, errors.

Hostile answers (chosen, as for e-conomic): a 2xx answer to a *write* that cannot be read is
a TransientError (the write probably happened; the retry looks it up by reference first); a
2xx read that is not JSON at all (empty, HTML, cut off) is a TransientError (a proxy or
maintenance page); well-formed JSON of the wrong shape is a PermanentError. Paging asks
``page=1, 2, …`` of its own base URL and stops at ``MetaInformation.@TotalPages``; an answer
for another page than asked, or more than 10,000 pages, is a PermanentError (never a loop).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping
from typing import Any, TypeVar

import httpx
import msgspec

from brygga.errors import CredentialsRejected, PermanentError
from brygga.http.answers import DECODE_FAILURES, body_kind, refusal
from brygga.http.client import RemoteClient
from brygga.http.jsonapi import MAX_PAGES, JsonApi
from brygga.secrets import scrub
from brygga_fortnox import wire
from brygga_fortnox.auth import RotatingTokens, failed_authentication

__all__ = ["ForbiddenError", "FortnoxApi", "NotFoundError"]

log = logging.getLogger(__name__)

T = TypeVar("T")
P = TypeVar("P", bound=wire.Page[Any])
_MAX_MESSAGE = 600


class NotFoundError(PermanentError):
    """Fortnox answered 404: no such resource."""


class ForbiddenError(PermanentError):
    """Fortnox answered 403 with no authentication code: a licence or scope is missing."""


class FortnoxApi(JsonApi):
    """Authorised requests, typed decoding of wrapped answers, paging, readable errors that
    never show a token or the client secret."""

    system = "Fortnox"

    def __init__(self, client: RemoteClient, tokens: RotatingTokens) -> None:
        self.client = client
        self.tokens = tokens

    def scrub(self, text: str) -> str:
        return scrub(text, *self.tokens.secrets())

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        headers = {"Accept": "application/json"}
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = wire.encode_json(body)
        return await self.client.request(
            method, path, params=params, content=content, headers=headers, auth=self.tokens.auth
        )

    def fail(self, response: httpx.Response, what: str) -> PermanentError:
        """A PermanentError for a 4xx answer to ``what``: its ``ErrorInformation`` message
        and code (:func:`refusal`). A failed authentication that a new access token did not
        mend (:func:`failed_authentication`) is CredentialsRejected."""
        try:
            message, code = wire.error_text(msgspec.json.decode(response.content))
        except DECODE_FAILURES:
            message, code = body_kind(response.content), ""
        # scrubbed before it is cut, so no cut can leave part of a secret behind
        said = self.scrub(message.strip())[:300] + (
            f" (code {self.scrub(code)[:20]})" if code else ""
        )
        if failed_authentication(response):
            return CredentialsRejected(
                self.scrub(
                    "Fortnox rejected the credentials: it refused the access token (HTTP "
                    f"{response.status_code}: {said or 'no reason'}) while working on {what}, "
                    "also a new one brygga had just fetched with the refresh token; fix: "
                    "check that the integration is still added and licensed in Fortnox, "
                    "connect brygga to Fortnox again, put the new refresh token in "
                    "[connection.erp] refresh_token and reload brygga"
                )[:_MAX_MESSAGE]
            )
        refused = refusal(
            response,
            what,
            [said],
            system="Fortnox",
            scrub=self.scrub,
            credentials="the access token",
            unauthorized="connect brygga to Fortnox again if this repeats",
            forbidden=f"{said or 'no reason'}; the integration lacks a licence or scope for it "
            "(codes 2001101/2001103)",
            not_found=NotFoundError,
            detail_length=None,  # the message is cut above, its code kept
            length=_MAX_MESSAGE,
        )
        if response.status_code == 403:
            return ForbiddenError(str(refused))
        return refused

    async def pages(
        self,
        path: str,
        page_type: type[P],
        what: str,
        *,
        params: Mapping[str, str] | None = None,
        limit: int = 100,
    ) -> AsyncGenerator[Any, None]:
        """Every item of a list, page by page, until ``@TotalPages``."""
        for page in range(1, MAX_PAGES + 1):
            query = {**(params or {}), "page": str(page), "limit": str(limit)}
            answer = self.decode(await self.request("GET", path, params=query), page_type, what)
            meta = answer.meta
            if meta.current_page != page:
                raise PermanentError(
                    f"Fortnox answered page {meta.current_page} when asked for page {page} "
                    f"while listing {what}; brygga stopped rather than loop"
                )
            items: list[Any] = answer.items  # type: ignore[attr-defined]
            for item in items:
                yield item
            if page >= meta.total_pages or not items:
                return
        raise PermanentError(
            f"Fortnox kept offering more pages after {MAX_PAGES} while listing {what}; "
            "brygga stopped"
        )
