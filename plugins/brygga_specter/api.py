"""A thin client for the modelled Specter API: JSON, ``Page`` paging and readable errors.

Hostile answers: a 2xx to a *write* that cannot be read is a TransientError (the write
probably happened; the next attempt looks it up by external order number); a 2xx read that
is not JSON at all (empty, HTML, cut off) is a TransientError too (a proxy or maintenance
page); well-formed JSON of the wrong shape is a PermanentError. Paging asks ``Page`` 1, 2, …
of its own base URL until ``TotalPages``; a page repeated byte for byte, or more than 10,000
pages, is a PermanentError instead of an endless loop.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any, TypeVar

import httpx
import msgspec

from brygga.errors import BryggaError, PermanentError, TransientError
from brygga.http.client import RemoteClient
from brygga.secrets import scrub
from brygga_specter import wire

__all__ = ["NotFoundError", "SpecterApi"]

T = TypeVar("T")

_DECODE_FAILURES = (msgspec.MsgspecError, UnicodeDecodeError, RecursionError)
_MAX_PAGES = 10_000
_MAX_DETAILS = 10
_MAX_MESSAGE = 2000


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _body_kind(content: bytes) -> str:
    head = content.lstrip()[:1]
    if not head:
        return "an empty answer"
    if head == b"<":
        return "an HTML or XML page"
    return "an answer that is not JSON"


class NotFoundError(PermanentError):
    """Specter answered 404: no such record."""


class SpecterApi:
    """Requests with JSON bodies, typed decoding and paging; errors never show the keys."""

    def __init__(self, client: RemoteClient, secrets: tuple[str, ...]) -> None:
        self.client = client
        self._secrets = tuple(s for s in secrets if s)

    async def aclose(self) -> None:
        await self.client.aclose()

    def scrub(self, text: str) -> str:
        return scrub(text, *self._secrets)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: msgspec.Struct | None = None,
    ) -> httpx.Response:
        if body is None:
            return await self.client.request(method, path, params=params)
        return await self.client.request(
            method,
            path,
            params=params,
            content=wire.encode_json(body),
            headers={"Content-Type": "application/json"},
        )

    def fail(self, response: httpx.Response, what: str) -> PermanentError:
        """A PermanentError for a 4xx (or redirect) answer to ``what``."""
        status = response.status_code
        if status == 401:
            return PermanentError(
                f"Specter refused the API keys (HTTP 401) while working on {what}: check "
                "api_user_key, integration_key and sbm_id in [connection.erp]"
            )
        if status == 403:
            return PermanentError(
                f"Specter denied access (HTTP 403) while working on {what}: give the API user "
                "the right to read and write customers, items, orders and invoices"
            )
        try:
            body = msgspec.json.decode(response.content, type=wire.ErrorBody)
            details = [
                ": ".join(p for p in (e.field.strip(), e.message.strip() or e.code) if p)
                for e in body.errors[: _MAX_DETAILS + 1]
            ]
        except msgspec.DecodeError as exc:
            details = (
                [] if isinstance(exc, msgspec.ValidationError) else [_body_kind(response.content)]
            )
        except _DECODE_FAILURES:
            details = []
        details = [_short(d, 300) for d in details if d]
        if len(details) > _MAX_DETAILS:
            details = [*details[:_MAX_DETAILS], "and more"]
        said = "; ".join(details) or "no details given"
        message = _short(
            self.scrub(f"Specter rejected {what} (HTTP {status}): {said}"), _MAX_MESSAGE
        )
        return (NotFoundError if status == 404 else PermanentError)(message)

    def decode(
        self, response: httpx.Response, type_: type[T], what: str, *, write: bool = False
    ) -> T:
        """The 2xx answer as ``type_`` (see the module notes for what is transient)."""
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
            problem = _short(str(exc), 300)
        if write:
            return TransientError(
                self.scrub(
                    f"Specter accepted {what} (HTTP {status}) but its answer could not be read "
                    f"({problem}); the next attempt looks the result up before sending again"
                )
            )
        if not_json:
            return TransientError(
                f"Specter sent {problem} for {what} (HTTP {status}), not JSON; usually a proxy "
                "or maintenance page, so brygga retries (check base_url if it persists)"
            )
        return PermanentError(
            self.scrub(f"Specter sent an unexpected answer for {what}: {problem}")
        )

    async def pages(
        self,
        path: str,
        type_: type[T],
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        page_size: int = wire.MAX_PAGE_SIZE,
    ) -> AsyncGenerator[T, None]:
        """Every item of a list, page by page (assumption 4 of :mod:`brygga_specter.wire`)."""
        previous = b""
        for number in range(1, _MAX_PAGES + 1):
            query = {**(params or {}), "Page": number, "PageSize": page_size}
            response = await self.request("GET", path, params=query)
            page = self.decode(response, wire.Page[type_], what)  # type: ignore[valid-type]
            if number > 1 and response.content == previous:
                raise PermanentError(
                    f"Specter sent the same page twice while listing {what} (page {number}); "
                    "brygga stopped rather than loop. Report it to Specter"
                )
            for item in page.data:
                yield item
            if not page.data or number >= page.total_pages:
                return
            previous = response.content
        raise PermanentError(
            f"Specter kept offering more pages after {_MAX_PAGES} while listing {what}; "
            "brygga stopped. Report it to Specter"
        )
