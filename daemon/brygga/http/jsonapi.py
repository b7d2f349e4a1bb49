"""What the adapters' thin JSON API clients share: reading answers, JSON bodies, numbered pages."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import httpx
import msgspec

from brygga.errors import PermanentError
from brygga.http.answers import Answers, refusal
from brygga.http.client import RemoteClient

__all__ = ["MAX_PAGES", "JsonApi"]

T = TypeVar("T")
P = TypeVar("P")

#: how many pages a list may have before paging stops with a PermanentError (never a loop)
MAX_PAGES = 10_000


class JsonApi(ABC):
    """The base of an adapter's API client over one :class:`RemoteClient`.

    A subclass names its ``system`` (the vendor, in messages), sets ``client`` (and ``auth``
    when a request carries an ``httpx.Auth``; ``encode`` when it sends JSON bodies), and
    defines ``scrub`` (its secrets out of a text) and the wording of its refusals (or all of
    ``fail``, see :func:`brygga.http.answers.refusal`). It gets how its answers are read
    (:attr:`answers`, :meth:`decode`), :meth:`request` with an optional JSON body, :meth:`find`,
    :meth:`numbered_pages` and :meth:`aclose`.
    """

    system: ClassVar[str]
    client: RemoteClient
    #: what every request carries to authenticate (None: the client's headers do)
    auth: httpx.Auth | None = None

    def encode(self, body: Any) -> bytes:
        """``body`` as the JSON the system reads; a client that sends bodies through
        :meth:`request` defines it (Fortnox sends its own and does not)."""
        raise TypeError(f"{type(self).__name__} sends no JSON bodies through JsonApi.request")

    @abstractmethod
    def scrub(self, text: str) -> str:
        """``text`` without this client's secrets (every client has some: no default)."""

    def details(self, content: bytes) -> list[str]:
        """What an error body says, one entry a problem (none when it cannot be read)."""
        return []

    #: a refusal's wording (:func:`brygga.http.answers.refusal`): what a 401 refused, what
    #: to fix after a 401 and after a 403, and the error of a 404
    credentials: ClassVar[str]
    unauthorized: ClassVar[str]
    forbidden: ClassVar[str]
    not_found: ClassVar[type[PermanentError]] = PermanentError

    def fail(self, response: httpx.Response, what: str) -> PermanentError:
        """The PermanentError for a refusal (a 3xx or 4xx answer) to ``what``: the
        :meth:`details` of its body in the system's wording (:func:`refusal`)."""
        return refusal(
            response,
            what,
            self.details(response.content),
            system=self.system,
            scrub=self.scrub,
            credentials=self.credentials,
            unauthorized=self.unauthorized,
            forbidden=self.forbidden,
            not_found=self.not_found,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    @functools.cached_property
    def answers(self) -> Answers:
        """How the system's answers are read (:mod:`brygga.http.answers`)."""
        return Answers(self.system, self.scrub, self.fail)

    def decode(
        self, response: httpx.Response, type_: type[T], what: str, *, write: bool = False
    ) -> T:
        """The 2xx answer decoded as ``type_`` (:mod:`brygga.http.answers` says which
        failures are transient)."""
        return self.answers.decode(response, type_, what, write=write)

    async def find(self, path: str, type_: type[T], what: str) -> T | None:
        """The record at ``path`` read as ``type_``, or None when the system answers 404."""
        response = await self.request("GET", path)
        if response.status_code == 404:
            return None
        return self.decode(response, type_, what)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: msgspec.Struct | None = None,
    ) -> httpx.Response:
        """One request with ``auth``; ``body``, when given, is sent as JSON (:meth:`encode`)."""
        if body is None:
            return await self.client.request(method, path, params=params, auth=self.auth)
        return await self.client.request(
            method,
            path,
            params=params,
            content=self.encode(body),
            headers={"Content-Type": "application/json"},
            auth=self.auth,
        )

    async def numbered_pages(
        self,
        path: str,
        page_type: type[P],
        what: str,
        *,
        query: Callable[[int], Mapping[str, Any]],
        items: Callable[[P], Sequence[T]],
        last: Callable[[P, int, int], bool],
    ) -> AsyncGenerator[T, None]:
        """Every item of a list read page by page from its own base URL: page ``n`` is asked
        with ``query(n)``, ``items`` reads a page's items, and ``last(page, n, items read so
        far)`` says whether it was the last (an empty page always is). A page repeated byte
        for byte, or more than :data:`MAX_PAGES` pages, stops with a PermanentError."""
        system = self.system
        previous = b""
        read = 0
        for number in range(1, MAX_PAGES + 1):
            response = await self.request("GET", path, params=query(number))
            page = self.decode(response, page_type, what)
            if number > 1 and response.content == previous:
                raise PermanentError(
                    f"{system} sent the same page twice while listing {what} (page {number}); "
                    f"brygga stopped rather than loop. Report it to {system}"
                )
            found = items(page)
            for item in found:
                yield item
            read += len(found)
            if not found or last(page, number, read):
                return
            previous = response.content
        raise PermanentError(
            f"{system} kept offering more pages after {MAX_PAGES} while listing {what}; "
            f"brygga stopped. Report it to {system}"
        )
