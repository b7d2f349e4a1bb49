"""A thin e-conomic REST client over RemoteClient: JSON, paging and readable errors.

Hostile answers (chosen, not documented): a 2xx answer to a *write* that cannot be read is a
TransientError, since the write probably happened and the retry looks it up by reference; a
2xx answer to a read that is not JSON at all (empty, HTML, truncated) is a TransientError
too (a proxy or maintenance page; a retry can help); well-formed JSON of the wrong shape is a
PermanentError. Paging never follows ``nextPage`` links (so a link to another host is never
contacted): it only reads them as "more pages follow" and asks its own base URL for
``skippages + 1``; a repeated link or page is a PermanentError instead of an endless loop.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncGenerator, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import msgspec

from brygga.errors import CredentialsRejected, PermanentError
from brygga.http.answers import DECODE_FAILURES, Answers, body_kind, refusal
from brygga.http.client import RemoteClient
from brygga.secrets import scrub
from brygga_economic import wire

__all__ = ["EconomicApi", "NotFoundError", "describe_errors"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_ANY_DECODER = msgspec.json.Decoder(float_hook=Decimal)
#: no legitimate collection read needs more pages than this (10 million items at 1000)
_MAX_PAGES = 10_000
#: the content type e-conomic asks for on every request
_JSON = {"Content-Type": "application/json"}
#: how deep ``errors`` documents are read, how many problems a message names, and its length
_MAX_ERROR_DEPTH = 24
_MAX_DETAILS = 10
_ROW = re.compile(r"(^|\s)row \d+$")


def _value_text(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_errors(errors: Any, prefix: str = "", _depth: int = 0) -> list[str]:
    """Flatten e-conomic's annotated ``errors`` document into short sentences.

    Array items carry ``arrayIndex``; items of ``lines`` are named "row N" (1-based), the way
    a merchant counts rows. Nesting deeper than any real error document is ignored.
    """
    found: list[str] = []
    if _depth > _MAX_ERROR_DEPTH:
        return found
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == "errors" and isinstance(value, list):
                for entry in value:
                    if not isinstance(entry, dict):
                        continue
                    text = _value_text(str(entry.get("message", "")).strip(), 200) or "invalid"
                    code = entry.get("errorCode")
                    extra = [_value_text(code)] if code else []
                    if "value" in entry:
                        extra.append(f"value {_value_text(entry['value'])!r}")
                    suffix = f" ({', '.join(extra)})" if extra else ""
                    where = f"{prefix}: " if prefix else ""
                    found.append(f"{where}{text}{suffix}")
            elif key != "arrayIndex":
                key = _value_text(key)
                child = f"{prefix} {key}" if _ROW.search(prefix) else f"{prefix}.{key}"
                found.extend(describe_errors(value, child if prefix else key, _depth + 1))
    elif isinstance(errors, list):
        rows = prefix.rsplit(".", 1)[-1] == "lines"
        for position, item in enumerate(errors):
            index = item.get("arrayIndex", position) if isinstance(item, dict) else position
            if not isinstance(index, int) or isinstance(index, bool):
                index = position
            if rows:
                label = f"{prefix[: -len('lines')].rstrip('.')} row {index + 1}".strip()
            else:
                label = f"{prefix}[{index}]"
            found.extend(describe_errors(item, label, _depth + 1))
            if len(found) > _MAX_DETAILS:
                break
    return found


def _said(content: bytes) -> str:
    """The message of an e-conomic error body (empty when the body is none)."""
    try:
        error = msgspec.json.decode(content, type=wire.ErrorBody)
    except DECODE_FAILURES:
        return ""
    return error.message.strip() or error.error_code.strip()


class NotFoundError(PermanentError):
    """e-conomic answered 404: the resource (or collection) does not exist."""


class EconomicApi:
    """Requests with JSON bodies, typed decoding, paging, and e-conomic errors mapped to
    PermanentError sentences that never contain the tokens."""

    def __init__(self, client: RemoteClient, secrets: tuple[str, ...]) -> None:
        self.client = client
        self._secrets = tuple(s for s in secrets if s)
        self.answers = Answers("e-conomic", self.scrub, self.fail, _said)

    async def aclose(self) -> None:
        await self.client.aclose()

    def scrub(self, text: str) -> str:
        """``text`` without the API tokens (an answer may echo what the request carried)."""
        return scrub(text, *self._secrets)

    def _scrub_tree(self, value: Any, depth: int = 0) -> Any:
        """Every string (keys too) of an error document scrubbed, before it is shortened."""
        if depth > _MAX_ERROR_DEPTH:
            return None
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub(str(k)): self._scrub_tree(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list):
            return [self._scrub_tree(v, depth + 1) for v in value]
        return value

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        # "Add these three headers to your requests": the two tokens and Content-Type:
        # application/json, on every request, GET included (e-conomic/slate,
        # source/includes/_tldr.md)
        content = None if body is None else wire.encode_json(body)
        response: httpx.Response = await self.client.request(
            method, path, params=params, content=content, headers=_JSON
        )
        return response

    def fail(self, response: httpx.Response, what: str) -> PermanentError:
        """A PermanentError for a 4xx answer to ``what`` (e.g. "the invoice for order 12"):
        the problems of its ``errors`` document, else its message (:func:`refusal`); a 401
        is :meth:`refused`."""
        if response.status_code == 401:
            return self.refused(response, what)
        try:
            body = msgspec.json.decode(response.content, type=wire.ErrorBody)
        except msgspec.ValidationError:
            body = wire.ErrorBody()
        except msgspec.DecodeError:
            body = wire.ErrorBody(message=body_kind(response.content))
        except DECODE_FAILURES:
            body = wire.ErrorBody()
        # every string of the document scrubbed before describe_errors shortens any of them
        details = describe_errors(self._scrub_tree(body.errors)) or [
            " ".join(p for p in (body.message.strip(), body.developer_hint.strip()) if p)
        ]
        return refusal(
            response,
            what,
            details,
            system="e-conomic",
            scrub=self.scrub,
            credentials="the API tokens",
            unauthorized="check app_secret_token and agreement_grant_token (a revoked grant "
            "also gives 401)",
            forbidden="the app's role does not allow it; grant the app a role that can write "
            "sales documents",
            not_found=NotFoundError,
            detail_length=None,  # describe_errors cuts the parts of each problem itself
        )

    def refused(self, response: httpx.Response, what: str) -> CredentialsRejected:
        """The error for a 401: e-conomic refused the app secret token or the agreement grant
        token ("a revoked grant shows up as HTTP 401", reference/erp-apis.md §1.2, from
        https://restdocs.e-conomic.com/#authentication). It concerns the agreement, not the
        record at hand (``what`` only says what brygga was doing): the engine holds the
        connection's work on it. A 403 (the app's role lacks a resource, §1.2) stays a
        refusal of the one request."""
        host = ""
        with contextlib.suppress(RuntimeError):  # an answer made without its request
            host = response.request.url.host
        where = f" at {host}" if host else ""
        return CredentialsRejected(
            self.scrub(
                f"e-conomic{where} rejected the credentials (HTTP 401) while working on {what}: "
                "fix app_secret_token and agreement_grant_token in [connection.erp] (a grant "
                "the agreement revoked also gives 401: have the agreement's administrator grant "
                "access again), then reload brygga"
            )
        )

    def decode(
        self, response: httpx.Response, type_: type[T], what: str, *, write: bool = False
    ) -> T:
        """The 2xx answer decoded as ``type_``; ``write`` says the request changed something
        (:mod:`brygga.http.answers` says which failures are transient)."""
        return self.answers.decode(response, type_, what, write=write)

    def decode_any(self, response: httpx.Response, what: str) -> Any:
        """The raw JSON (numbers with decimals as Decimal), for echoing a document back."""
        if not 200 <= response.status_code < 300:
            raise self.fail(response, what)
        try:
            return _ANY_DECODER.decode(response.content)
        except DECODE_FAILURES as exc:
            raise self.answers.unreadable(response, what, exc, write=False) from None

    async def pages(
        self,
        path: str,
        type_: type[T],
        what: str,
        *,
        filter: str | None = None,
        page_size: int = 1000,
    ) -> AsyncGenerator[T, None]:
        """Every item of a collection, page by page (``skippages``) while
        :meth:`~brygga_economic.wire.Pagination.more_after` says more follow.

        ``nextPage`` only says that more follow; the next page is always asked of this
        client's own base URL. A repeated link or page, or more than 10,000 pages, is a
        PermanentError naming ``what`` (never an endless loop).
        """
        seen: set[str] = set()
        previous = b""
        for skip in range(_MAX_PAGES):
            params: dict[str, Any] = {"skippages": skip, "pagesize": page_size}
            if filter is not None:
                params["filter"] = filter
            response = await self.request("GET", path, params=params)
            page = self.decode(response, wire.Page[type_], what)  # type: ignore[valid-type]
            link = page.pagination.next_page
            if response.content == previous or (link is not None and link in seen):
                raise PermanentError(
                    f"e-conomic sent the same page twice while listing {what} (page "
                    f"{skip + 1}); brygga stopped rather than loop. Report it to e-conomic"
                )
            for item in page.collection:
                yield item
            if not page.pagination.more_after(skip, page_size, len(page.collection)):
                return
            if link is not None:
                seen.add(link)
            previous = response.content
        log.warning("e-conomic %s: more than %d pages", path, _MAX_PAGES)
        raise PermanentError(
            f"e-conomic kept offering more pages after {_MAX_PAGES} while listing {what}; "
            "brygga stopped. Report it to e-conomic"
        )
