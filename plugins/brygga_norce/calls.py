"""The Norce adapter's one authorised request, shared by its orders, status and import sides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from brygga.errors import PermanentError
from brygga.http.client import RemoteClient
from brygga_norce.auth import TokenSource
from brygga_norce.wire import decode_error

__all__ = ["CONNECT", "QUERY", "NorceCalls", "is_query"]

QUERY = "commerce/query/2.0"
#: the Query API's base path, compared case-insensitively: the documented example nextLink
#: and ProductSkus URL spell it ``/commerce/Query/2.0/`` (querygeneral, [NO10])
_QUERY_BASE = "/commerce/query/"
CONNECT = "commerce/connect/4.0"
_HINTS = {
    400: "; Norce refused the request as invalid",
    403: "; the integration user lacks permission for this (grant it in Norce Admin)",
    404: "; it does not exist in Norce",
}


def is_query(path: str) -> bool:
    """Whether ``path`` (relative, or a full URL such as an ``@odata.nextLink``) is on the
    Query API, whatever the case of ``/commerce/Query/``."""
    where = urlsplit(path).path if "://" in path else path
    return ("/" + where.lstrip("/")).lower().startswith(_QUERY_BASE)


class NorceCalls:
    """The request helper of :class:`~brygga_norce.adapter.NorceAdapter` and its mixins."""

    shop: str
    _client: RemoteClient
    tokens: TokenSource
    #: sent as the ``ApplicationId`` header on every Query call (the Query operations
    #: document it as required); None only when the config has none (refused on Query)
    application_id: int | None

    async def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        """One authorised request; a 401 gets one new token and one retry. Statuses outside
        ``ok`` are PermanentErrors naming ``what`` (429 and 5xx are TransientErrors)."""
        sent = dict(headers or {})
        if is_query(path):
            if self.application_id is None:
                raise PermanentError(
                    f"{what}: set application_id for Norce shop {self.shop} (the Norce "
                    "application id, sent as the ApplicationId header every Query API call "
                    "requires)"
                )
            sent["ApplicationId"] = str(self.application_id)
        response: httpx.Response = await self._client.request(
            method,
            path,
            params=params,
            json=json,
            content=content,
            headers=sent,
            auth=self.tokens.auth,
        )
        if response.status_code == 401:
            raise PermanentError(
                f"{what}: Norce refused a freshly issued access token (401); check that the "
                "integration user still has access to this client"
            )
        if response.status_code not in ok:
            error = decode_error(response.content)
            detail = error.message or error.error_description or error.error or ""
            token = response.request.headers.get("Authorization", "").removeprefix("Bearer ")
            detail = self.tokens.scrub(detail, token)[:300]
            raise PermanentError(
                f"{what}: Norce answered {response.status_code}"
                + (f" ({detail})" if detail else "")
                + _HINTS.get(response.status_code, "")
            )
        return response
