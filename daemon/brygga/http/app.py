"""The daemon's own ASGI app: /metrics, /healthz, /readyz and token-guarded webhook receivers."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from brygga.metrics import Metrics
from brygga.secrets import Secret

__all__ = ["ReadyChecks", "WebhookHandler", "WebhookRegistry", "create_app", "new_webhook_token"]

log = logging.getLogger(__name__)

_WEBHOOK_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")

#: ``async def handler(request) -> Response`` for one connection's webhook receiver.
WebhookHandler = Callable[[Request], Awaitable[Response]]
#: Returns ``{check name: ready}``; /readyz is 200 only when every value is true.
ReadyChecks = Callable[[], Mapping[str, bool]]


def new_webhook_token() -> str:
    """A fresh URL-safe token (256 bits) for a webhook path."""
    return secrets.token_urlsafe(32)


class WebhookRegistry:
    """Receivers under ``/webhooks/{connection}/{token}``.

    The token in the path is the shared secret a platform calls back with; it is compared in
    constant time, and a request whose connection or token is unknown gets the same 404 as any
    unknown path, before anything is read or recorded. Receivers can be added and removed while
    the app runs (connections come and go on reload).
    """

    def __init__(self) -> None:
        self._receivers: dict[str, list[tuple[bytes, WebhookHandler]]] = {}

    @staticmethod
    def _token_bytes(token: str | Secret) -> bytes:
        value = token.reveal() if isinstance(token, Secret) else token
        if not value or "/" in value:
            raise ValueError("a webhook token must be non-empty and contain no '/'")
        return value.encode()

    def register(self, connection: str, token: str | Secret, handler: WebhookHandler) -> None:
        """Route ``/webhooks/<connection>/<token>`` to ``handler`` (GET, HEAD, POST, PUT, PATCH,
        DELETE: some platforms verify a receiver with a GET before they post to it)."""
        key = self._token_bytes(token)
        receivers = self._receivers.setdefault(connection, [])
        if any(hmac.compare_digest(known, key) for known, _ in receivers):
            raise ValueError(f"connection {connection!r} already has a receiver for this token")
        receivers.append((key, handler))

    def unregister(self, connection: str, token: str | Secret | None = None) -> None:
        """Remove one receiver of a connection, or all of them when ``token`` is None."""
        if token is None:
            self._receivers.pop(connection, None)
            return
        key = self._token_bytes(token)
        kept = [
            (k, h)
            for k, h in self._receivers.get(connection, [])
            if not hmac.compare_digest(k, key)
        ]
        if kept:
            self._receivers[connection] = kept
        else:
            self._receivers.pop(connection, None)

    def resolve(self, connection: str, token: str) -> WebhookHandler | None:
        """The handler for this connection and token, or None."""
        given = token.encode()
        found: WebhookHandler | None = None
        # Compare against every receiver of the connection, so timing says nothing about which.
        for known, handler in self._receivers.get(connection, []):
            if hmac.compare_digest(known, given):
                found = handler
        return found

    def connections(self) -> list[str]:
        return sorted(self._receivers)


def create_app(
    metrics: Metrics,
    *,
    ready_checks: ReadyChecks | None = None,
    webhooks: WebhookRegistry | None = None,
) -> Starlette:
    """The endpoint app. ``app.state.webhooks`` is the (given or new) :class:`WebhookRegistry`."""
    registry = webhooks if webhooks is not None else WebhookRegistry()

    async def metrics_endpoint(request: Request) -> Response:
        body, content_type = metrics.render()
        return Response(body, headers={"Content-Type": content_type})

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        try:
            checks = dict(ready_checks()) if ready_checks is not None else {}
        except Exception:
            log.exception("a readiness check failed")
            return JSONResponse({"ready": False, "error": "a readiness check failed"}, 503)
        not_ready = sorted(name for name, ok in checks.items() if not ok)
        body = {"ready": not not_ready, "not_ready": not_ready, "checks": checks}
        return JSONResponse(body, status_code=503 if not_ready else 200)

    async def webhook(request: Request) -> Response:
        connection = request.path_params["connection"]
        handler = registry.resolve(connection, request.path_params["token"])
        if handler is None:
            return PlainTextResponse("Not Found", status_code=404)
        try:
            return await handler(request)
        except Exception:
            # The path carries the token: log the connection only.
            log.exception("webhook receiver of connection %s failed", connection)
            return PlainTextResponse("Internal Server Error", status_code=500)

    app = Starlette(
        routes=[
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/webhooks/{connection}/{token}", webhook, methods=list(_WEBHOOK_METHODS)),
        ]
    )
    app.state.webhooks = registry
    app.state.metrics = metrics
    return app
