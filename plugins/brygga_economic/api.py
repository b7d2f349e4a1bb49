"""A thin e-conomic REST client over RemoteClient: JSON, paging and readable errors."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import msgspec

from brygga.errors import PermanentError
from brygga.http.client import RemoteClient
from brygga_economic import wire

__all__ = ["EconomicApi", "describe_errors"]

log = logging.getLogger(__name__)

T = TypeVar("T")

_ANY_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_MAX_PAGES = 100_000
_ROW = re.compile(r"(^|\s)row \d+$")


def _value_text(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe_errors(errors: Any, prefix: str = "") -> list[str]:
    """Flatten e-conomic's annotated ``errors`` document into short sentences.

    Array items carry ``arrayIndex``; items of ``lines`` are named "row N" (1-based), the way
    a merchant counts rows.
    """
    found: list[str] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            if key == "errors" and isinstance(value, list):
                for entry in value:
                    if not isinstance(entry, dict):
                        continue
                    text = str(entry.get("message", "")).strip() or "invalid"
                    code = entry.get("errorCode")
                    extra = [str(code)] if code else []
                    if "value" in entry:
                        extra.append(f"value {_value_text(entry['value'])!r}")
                    suffix = f" ({', '.join(extra)})" if extra else ""
                    where = f"{prefix}: " if prefix else ""
                    found.append(f"{where}{text}{suffix}")
            elif key != "arrayIndex":
                child = f"{prefix} {key}" if _ROW.search(prefix) else f"{prefix}.{key}"
                found.extend(describe_errors(value, child if prefix else key))
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
            found.extend(describe_errors(item, label))
    return found


class EconomicApi:
    """Requests with JSON bodies, typed decoding, paging, and e-conomic errors mapped to
    PermanentError sentences that never contain the tokens."""

    def __init__(self, client: RemoteClient, secrets: tuple[str, ...]) -> None:
        self.client = client
        self._secrets = tuple(s for s in secrets if s)

    async def aclose(self) -> None:
        await self.client.aclose()

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        response: httpx.Response
        if body is None:
            response = await self.client.request(method, path, params=params)
        else:
            response = await self.client.request(
                method,
                path,
                params=params,
                content=wire.encode_json(body),
                headers={"Content-Type": "application/json"},
            )
        return response

    def fail(self, response: httpx.Response, what: str) -> PermanentError:
        """A PermanentError for a 4xx answer to ``what`` (e.g. "the invoice for order 12")."""
        status = response.status_code
        if status == 401:
            return PermanentError(
                f"e-conomic refused the API tokens (HTTP 401) while working on {what}: check "
                "app_secret_token and agreement_grant_token (a revoked grant also gives 401)"
            )
        if status == 403:
            return PermanentError(
                f"e-conomic denied access (HTTP 403) while working on {what}: the app's role "
                "does not allow it; grant the app a role that can write sales documents"
            )
        try:
            body = msgspec.json.decode(response.content, type=wire.ErrorBody)
        except msgspec.DecodeError:
            body = wire.ErrorBody()
        details = describe_errors(body.errors)
        if not details:
            details = [
                " ".join(p for p in (body.message.strip(), body.developer_hint.strip()) if p)
                or "no details given"
            ]
        message = f"e-conomic rejected {what} (HTTP {status}): {'; '.join(details)}"
        return PermanentError(self.scrub(message))

    def decode(self, response: httpx.Response, type_: type[T], what: str) -> T:
        if not 200 <= response.status_code < 300:
            raise self.fail(response, what)
        try:
            return msgspec.json.decode(response.content, type=type_)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise PermanentError(
                self.scrub(f"e-conomic sent an unexpected answer for {what}: {exc}")
            ) from None

    def decode_any(self, response: httpx.Response, what: str) -> Any:
        """The raw JSON (numbers with decimals as Decimal), for echoing a document back."""
        if not 200 <= response.status_code < 300:
            raise self.fail(response, what)
        try:
            return _ANY_DECODER.decode(response.content)
        except msgspec.DecodeError:
            raise PermanentError(f"e-conomic sent an answer for {what} that is not JSON") from None

    async def pages(
        self,
        path: str,
        type_: type[T],
        what: str,
        *,
        filter: str | None = None,
        page_size: int = 1000,
    ) -> AsyncGenerator[T, None]:
        """Every item of a collection, page by page (``skippages``) until no ``nextPage``."""
        skip = 0
        while skip < _MAX_PAGES:
            params: dict[str, Any] = {"skippages": skip, "pagesize": page_size}
            if filter is not None:
                params["filter"] = filter
            response = await self.request("GET", path, params=params)
            page = self.decode(response, wire.Page[type_], what)  # type: ignore[valid-type]
            for item in page.collection:
                yield item
            if page.pagination.next_page is None or not page.collection:
                return
            skip += 1
        log.warning("e-conomic %s: stopped paging after %d pages", path, _MAX_PAGES)
