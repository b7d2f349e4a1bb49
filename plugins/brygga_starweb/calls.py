"""The Starweb adapter's one authorised request, shared by its orders and catalog sides."""

from __future__ import annotations

from typing import Any

import httpx

from brygga.errors import PermanentError
from brygga.http.client import RemoteClient
from brygga_starweb.auth import TokenSource
from brygga_starweb.wire import decode_error

__all__ = ["StarwebCalls"]

_HINTS = {
    400: "; the request was refused as invalid",
    403: "; the API client lacks permission for this (ask the shop owner to grant it)",
    404: "; it does not exist in the shop",
    405: "; check that base_url points at the Starweb API v2",
}


class StarwebCalls:
    """The request helper of :class:`~brygga_starweb.adapter.StarwebAdapter` and its catalog
    mixin; the adapter sets ``shop``, ``_client`` and ``tokens``."""

    #: the shop's name in messages (never a credential)
    shop: str
    _client: RemoteClient
    tokens: TokenSource

    async def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        ok: tuple[int, ...] = (200,),
    ) -> httpx.Response:
        """One authorised request; a 401 gets one new token and one retry (``tokens.auth``).
        Statuses outside ``ok`` are PermanentErrors naming ``what`` (transient ones are raised
        by the client)."""
        response: httpx.Response = await self._client.request(
            method, path, params=params, json=json, auth=self.tokens.auth
        )
        if response.status_code == 401:  # the auth already fetched a new token and retried
            raise PermanentError(
                f"{what}: Starweb refused a freshly issued access token (401); check that "
                "the API client still has access to this shop"
            )
        if response.status_code not in ok:
            raise self._refusal(response, what)
        return response

    def _refusal(self, response: httpx.Response, what: str) -> PermanentError:
        """The PermanentError for an answer outside what the request expected, naming
        ``what``, the status and Starweb's error (scrubbed of the request's token)."""
        error = decode_error(response.content)
        detail = ": ".join(p for p in (error.error, error.error_description) if p)
        # a server may echo what it got: the token this request carried, too
        sent = response.request.headers.get("Authorization", "").removeprefix("Bearer ")
        detail = self.tokens.scrub(detail, sent)[:500]
        return PermanentError(
            f"{what}: Starweb answered {response.status_code}"
            + (f" ({detail})" if detail else "")
            + _HINTS.get(response.status_code, "")
        )
