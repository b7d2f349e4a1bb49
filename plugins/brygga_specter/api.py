"""A thin client for the modelled Specter API: JSON, ``Page`` paging and readable errors.

Hostile answers: a 2xx to a *write* that cannot be read is a TransientError (the write
probably happened; the next attempt looks it up by external order number); a 2xx read that
is not JSON at all (empty, HTML, cut off) is a TransientError too (a proxy or maintenance
page); well-formed JSON of the wrong shape is a PermanentError. Paging asks ``Page`` 1, 2, …
of its own base URL until ``TotalPages``; a page repeated byte for byte, or more than 10,000
pages, is a PermanentError instead of an endless loop.

A 401 is Specter refusing the keys (wire assumption 2: every request carries ``ApiUserKey``,
``IntegrationKey`` and ``SbmId``; a wrong one is 401): a
:class:`~brygga.errors.CredentialsRejected`, on which the sync engine holds the connection's
work instead of failing the record. A 403 (the API user lacks a right) stays the refusal of
that one request.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any, TypeVar

import httpx
import msgspec

from brygga.errors import CredentialsRejected, PermanentError
from brygga.http.answers import DECODE_FAILURES, MAX_DETAILS, body_kind
from brygga.http.client import RemoteClient
from brygga.http.jsonapi import JsonApi
from brygga.secrets import scrub
from brygga_specter import wire

__all__ = ["NotFoundError", "SpecterApi"]

T = TypeVar("T")


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


class SpecterApi(JsonApi):
    """Requests with JSON bodies, typed decoding and paging; errors never show the keys."""

    system = "Specter"
    credentials = "the API keys"
    unauthorized = "check api_user_key, integration_key and sbm_id in [connection.erp]"
    forbidden = (
        "give the API user the right to read and write customers, items, orders and invoices"
    )
    not_found = NotFoundError

    def __init__(
        self, client: RemoteClient, secrets: tuple[str, ...], *, account: str, fix: str
    ) -> None:
        self.client = client
        self._secrets = tuple(s for s in secrets if s)
        #: a 401 reads "Specter ``account`` rejected the credentials (HTTP 401) while working
        #: on …: ``fix``": the config keys with their sources, never a value
        self._account, self._fix = account, fix

    def fail(self, response: httpx.Response, what: str) -> PermanentError:
        """A 401 is a :class:`CredentialsRejected` (the keys, not the record); anything else
        the refusal of the request (:meth:`JsonApi.fail`)."""
        if response.status_code == 401:
            return CredentialsRejected(
                self.scrub(
                    f"Specter {self._account} rejected the credentials (HTTP 401) while "
                    f"working on {what}: {self._fix}"
                )
            )
        return super().fail(response, what)

    def scrub(self, text: str) -> str:
        return scrub(text, *self._secrets)

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
        """Every item of a list, page by page, until ``TotalPages`` (assumption 4 of
        :mod:`brygga_specter.wire`)."""
        return self.numbered_pages(
            path,
            wire.Page[type_],  # type: ignore[valid-type]
            what,
            query=lambda number: {**(params or {}), "Page": number, "PageSize": page_size},
            items=lambda page: page.data,
            last=lambda page, number, _read: number >= page.total_pages,
        )
