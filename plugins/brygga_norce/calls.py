"""The Norce adapter's one authorised request, shared by its orders, status and import sides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from brygga.errors import PermanentError
from brygga.http.client import RemoteClient
from brygga_norce.auth import TokenSource
from brygga_norce.wire import decode_error

__all__ = ["CONNECT", "QUERY", "NorceCalls"]

QUERY = "commerce/query/2.0"
CONNECT = "commerce/connect/4.0"
_HINTS = {
    400: "; Norce refused the request as invalid",
    403: "; the integration user lacks permission for this (grant it in Norce Admin)",
    404: "; it does not exist in Norce",
}


class NorceCalls:
    """The request helper of :class:`~brygga_norce.adapter.NorceAdapter` and its mixins."""

    shop: str
    _client: RemoteClient
    tokens: TokenSource
    #: sent as the ``ApplicationId`` header on Query calls (None: not sent)
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
        if self.application_id is not None and QUERY in path:
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
