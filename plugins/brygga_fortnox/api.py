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

from brygga.errors import BryggaError, PermanentError, TransientError
from brygga.http.client import RemoteClient
from brygga.secrets import scrub
from brygga_fortnox import wire
from brygga_fortnox.auth import RotatingTokens

__all__ = ["FortnoxApi", "NotFoundError"]

log = logging.getLogger(__name__)

T = TypeVar("T")
P = TypeVar("P", bound=wire.Page[Any])

_DECODE_FAILURES = (msgspec.MsgspecError, UnicodeDecodeError, RecursionError)
_MAX_PAGES = 10_000
_MAX_MESSAGE = 600


class NotFoundError(PermanentError):
    """Fortnox answered 404: no such resource."""


def _body_kind(content: bytes) -> str:
    head = content.lstrip()[:1]
    if not head:
        return "an empty answer"
    if head == b"<":
        return "an HTML or XML page"
    return "an answer that is not JSON"


class FortnoxApi:
    """Authorised requests, typed decoding of wrapped answers, paging, readable errors that
    never show a token or the client secret."""

    def __init__(self, client: RemoteClient, tokens: RotatingTokens) -> None:
        self.client = client
        self.tokens = tokens

    async def aclose(self) -> None:
        await self.client.aclose()

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
        """A PermanentError for a 4xx answer to ``what``."""
        status = response.status_code
        try:
            message, code = wire.error_text(msgspec.json.decode(response.content))
        except _DECODE_FAILURES:
            message, code = _body_kind(response.content), ""
        said = self.scrub(f"{message.strip()[:300]}" + (f" (code {code[:20]})" if code else ""))
        if status == 401:
            return PermanentError(
                f"Fortnox refused the access token (HTTP 401) while working on {what}: "
                "connect brygga to Fortnox again if this repeats"
            )
        if status == 403:
            return PermanentError(
                f"Fortnox denied access (HTTP 403) while working on {what}: {said or 'no reason'}"
                "; the integration lacks a licence or scope for it (codes 2001101/2001103)"
            )
        error = NotFoundError if status == 404 else PermanentError
        text = f"Fortnox rejected {what} (HTTP {status}): {said or 'no details given'}"
        return error(self.scrub(text)[:_MAX_MESSAGE])

    def decode(
        self, response: httpx.Response, type_: type[T], what: str, *, write: bool = False
    ) -> T:
        """The 2xx answer decoded as ``type_`` (see the module notes on failures)."""
        if not 200 <= response.status_code < 300:
            raise self.fail(response, what)
        try:
            return msgspec.json.decode(response.content, type=type_)
        except _DECODE_FAILURES as exc:
            raise self._unreadable(response, what, exc, write=write) from None

    def _unreadable(
        self, response: httpx.Response, what: str, exc: Exception, *, write: bool
    ) -> BryggaError:
        status = response.status_code
        not_json = not isinstance(exc, msgspec.ValidationError) and isinstance(
            exc, msgspec.DecodeError | UnicodeDecodeError
        )
        if isinstance(exc, RecursionError):
            problem = "JSON nested too deeply"
        elif not_json:
            problem = _body_kind(response.content)
        else:
            problem = str(exc)[:200]
        if write:
            return TransientError(
                self.scrub(
                    f"Fortnox accepted {what} (HTTP {status}) but its answer could not be read "
                    f"({problem}); the next attempt looks the result up before sending again"
                )
            )
        if not_json:
            return TransientError(
                f"Fortnox sent {problem} for {what} (HTTP {status}), not JSON; usually a proxy "
                "or maintenance page, so brygga retries (check base_url if it persists)"
            )
        return PermanentError(
            self.scrub(f"Fortnox sent an unexpected answer for {what}: {problem}")
        )

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
        for page in range(1, _MAX_PAGES + 1):
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
            f"Fortnox kept offering more pages after {_MAX_PAGES} while listing {what}; "
            "brygga stopped"
        )
