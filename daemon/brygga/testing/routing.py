"""Requests routed by host to in-process simulators: a whole daemon against them, no sockets."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from brygga.testing.simulators import Asgi

__all__ = ["RoutingTransport"]


class RoutingTransport(httpx.AsyncBaseTransport):
    """Route each request by host to an in-process ASGI app (one per simulated system), so a
    whole daemon runs against several simulators without sockets."""

    def __init__(self, apps: Mapping[str, Asgi]) -> None:
        self._transports = {host: httpx.ASGITransport(app=app) for host, app in apps.items()}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._transports.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"no simulator for host {request.url.host}", request=request)
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        for transport in self._transports.values():
            await transport.aclose()
