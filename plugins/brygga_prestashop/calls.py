"""The adapter's one request: the key as Basic user, JSON output, ``id_shop``, typed errors.

PrestaShop answers a key it does not take with 401 and its own codes (reference/shop-apis.md
§3.1 [PS1] ``WebserviceRequest::authenticate``): 16 no key, 17 empty, 18 not 32 characters,
19 unknown (1.6), 20 not active (also an unknown key on 1.7/8), 21 no permissions. Those are
a :class:`~brygga.errors.CredentialsRejected`: the sync engine holds the connection's work
instead of failing the record. A 401 with code 26 alone (``checkResource``: this resource is
not granted to the key) is a refusal of the request: the key is good, one permission lacks.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx
import msgspec

from brygga.errors import CredentialsRejected, PermanentError
from brygga.http.client import RemoteClient
from brygga.secrets import Secret, scrub
from brygga_prestashop.wire import Record, decode_detail, decode_list

__all__ = ["PrestashopCalls", "basic_auth"]

_HINTS = {
    400: "; PrestaShop refused the request as invalid",
    403: "; the key is not linked to this shop (multishop: check id_shop)",
    404: "; it does not exist in the shop",
    405: "; the key lacks this method for the resource (grant it under Advanced "
    'parameters > Webservice), or the shop is older than 8.x (set version = "1.7")',
}


def basic_auth(key: Secret) -> str:
    """``Authorization: Basic base64("KEY:")``: the key as user, empty password (§3.1)."""
    return "Basic " + base64.b64encode(f"{key.reveal()}:".encode()).decode()


#: the 401 codes of ``authenticate`` (the key itself refused) and of ``checkResource``
_KEY_REFUSED = frozenset({16, 17, 18, 19, 20, 21})
_RESOURCE_NOT_GRANTED = 26
#: ``<code><![CDATA[26]]></code>`` (or without CDATA) in the XML ``<errors>`` envelope
_XML_CODE = re.compile(rb"<code>\s*(?:<!\[CDATA\[)?\s*(\d{1,4})\s*(?:\]\]>)?\s*</code>")


def _codes(body: bytes) -> set[int]:
    """The error codes of an error answer, JSON or XML (§3.5: an answer to a refused key may
    come before the output format is read); empty when it cannot be read."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return {int(code) for code in _XML_CODE.findall(body[:4000])[:10]}
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return set()
    codes = (e.get("code") for e in errors[:10] if isinstance(e, dict))
    return {int(c) for c in codes if isinstance(c, int | str) and str(c).isdigit()}


def _errors(body: bytes) -> str:
    """The ``{"errors": [{"code", "message"}]}`` text of an answer (§3.5), short."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return ""
    parts = [f"code {e.get('code')}: {e.get('message')}" for e in errors[:3] if isinstance(e, dict)]
    return "; ".join(parts)[:400]


class PrestashopCalls:
    """The request helpers the adapter's parts share; the adapter sets these attributes."""

    shop: str
    _client: RemoteClient
    _key: Secret
    _id_shop: int | None

    def _params(self, params: dict[str, Any] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"output_format": "JSON"}
        if self._id_shop is not None:
            out["id_shop"] = self._id_shop
        return out | (params or {})

    async def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: dict[str, Any] | None = None,
        body: bytes | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        """One request; statuses outside ``ok`` are PermanentErrors naming ``what``
        (transient ones are raised by the client). The key never shows in a message."""
        headers = {"Authorization": basic_auth(self._key), "Output-Format": "JSON"}
        if body is not None:
            headers["Content-Type"] = "text/xml; charset=utf-8"
        response = await self._client.request(
            method, path, params=self._params(params), content=body, headers=headers
        )
        if response.status_code in ok:
            return response
        detail = scrub(_errors(response.content), self._key)
        if response.status_code == 401:
            codes = _codes(response.content)
            if _RESOURCE_NOT_GRANTED in codes and not codes & _KEY_REFUSED:
                raise PermanentError(
                    f"{what}: PrestaShop shop {self.shop} does not grant this resource to the "
                    f"webservice key (401{', ' + detail if detail else ''}); tick it for the "
                    "key under Advanced parameters > Webservice"
                )
            # the key itself (codes 16-21), or a 401 whose codes cannot be read
            raise CredentialsRejected(
                f"PrestaShop shop {self.shop} rejected the credentials (HTTP 401"
                f"{', ' + detail if detail else ''}) while working on {what}: fix key "
                f"({self._key.source}) of shop {self.shop} in [[connection.shops]] (the "
                "webservice key: 32 characters, enabled, under Advanced parameters > "
                "Webservice), then reload brygga"
            )
        raise PermanentError(
            f"{what}: PrestaShop answered {response.status_code}"
            + (f" ({detail})" if detail else "")
            + _HINTS.get(response.status_code, "")
        )

    async def _detail(self, resource: str, singular: str, row_id: int, what: str) -> Record:
        response = await self._call("GET", f"{resource}/{row_id}", what)
        return decode_detail(response.content, singular, what)

    async def _list(self, resource: str, what: str, params: dict[str, Any]) -> list[Record]:
        response = await self._call("GET", resource, what, params=params)
        return decode_list(response.content, resource, what)
