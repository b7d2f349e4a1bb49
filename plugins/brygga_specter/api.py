"""A thin client for the modelled Specter API: JSON, ``Page`` paging and readable errors.

Hostile answers: a 2xx to a *write* that cannot be read is a TransientError (the write
probably happened; the next attempt looks it up by external order number); a 2xx read that
is not JSON at all (empty, HTML, cut off) is a TransientError too (a proxy or maintenance
page); well-formed JSON of the wrong shape is a PermanentError. Paging asks ``Page`` 1, 2, …
of its own base URL until ``TotalPages``; a page repeated byte for byte, or more than 10,000
pages, is a PermanentError instead of an endless loop.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Mapping
from typing import Any, TypeVar

import httpx
import msgspec

from brygga.errors import PermanentError
from brygga.http.answers import DECODE_FAILURES, MAX_DETAILS, Answers, body_kind, refusal
from brygga.http.client import RemoteClient
from brygga.secrets import scrub
from brygga_specter import wire

__all__ = ["NotFoundError", "SpecterApi"]

T = TypeVar("T")

_MAX_PAGES = 10_000


def _details(content: bytes) -> list[str]:
    """What an error body says, one entry a problem (wire assumption of ``ErrorBody``)."""
    try:
        body = msgspec.json.decode(content, type=wire.ErrorBody)
    except msgspec.ValidationError:
        return []
    except msgspec.DecodeError:
        return [body_kind(content)]
    except DECODE_FAILURES:
        return []
    return [
        ": ".join(p for p in (e.field.strip(), e.message.strip() or e.code) if p)
        for e in body.errors[: MAX_DETAILS + 1]
    ]


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
        """A PermanentError for a 4xx (or redirect) answer to ``what`` (:func:`refusal`)."""
        return refusal(
            response,
            what,
            _details(response.content),
            system="Specter",
            scrub=self.scrub,
            credentials="the API keys",
            unauthorized="check api_user_key, integration_key and sbm_id in [connection.erp]",
            forbidden="give the API user the right to read and write customers, items, orders "
            "and invoices",
            not_found=NotFoundError,
        )

    @functools.cached_property
    def answers(self) -> Answers:
        """How Specter's answers are read (:mod:`brygga.http.answers`)."""
        return Answers("Specter", self.scrub, self.fail)

    def decode(
        self, response: httpx.Response, type_: type[T], what: str, *, write: bool = False
    ) -> T:
        """The 2xx answer decoded as ``type_`` (:mod:`brygga.http.answers` says which
        failures are transient)."""
        return self.answers.decode(response, type_, what, write=write)

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
