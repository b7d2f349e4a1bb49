"""The simulator's HTTP side: trytond 8.2's JSON-RPC routes, login and session checks.

- ``POST /rpc/`` (``common.server.version``) and ``POST /<db>/rpc/``; other paths 404, other
  methods 405; a body without ``Content-Type: application/json`` is a 400 (reference
  real-peers.md §A gotchas 1 and 3).
- ``common.db.login [login, {"password": …}, language]`` → ``[user, session, None]``; wrong
  credentials 401, an unknown database 404 (trytond ``dispatcher.login``). Later calls need
  ``Authorization: Session base64(login:user:session)``, else 401.
- Model calls take the context as their last parameter ("Missing context argument" otherwise,
  a ServerError array). An unexpected method answers 403.
- Faults are matched on the path plus the RPC method (``/<db>/rpc/model.sale.sale.create``),
  so a test can break one call: every call goes to the same URL.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import MutableMapping
from typing import Any

from brygga.testing.simulators import Asgi, FaultInjector
from brygga_tryton.simulator.models import Forbidden, Models
from brygga_tryton.simulator.wire import SimUserError, dumps, loads

__all__ = ["RpcApp"]

Scope = MutableMapping[str, Any]


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Any, status: int, body: bytes = b"") -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RpcApp:
    """The JSON-RPC endpoint over :class:`Models`, with faults in front."""

    def __init__(
        self,
        models: Models,
        faults: FaultInjector,
        *,
        database: str,
        login: str,
        password: str,
    ) -> None:
        self.models = models
        self.database = database
        self.login = login
        self.password = password
        self.sessions: set[str] = set()
        self.requests: list[tuple[str, str]] = []
        self._inner: Asgi = faults.wrap(self._dispatch)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        method = ""
        try:
            parsed = loads(body)
            if isinstance(parsed, dict) and isinstance(parsed.get("method"), str):
                method = parsed["method"]
        except ValueError:
            pass
        self.requests.append((scope["method"], f"{scope['path']}{method}"))
        inner = dict(scope)
        inner["brygga.rpc_path"] = scope["path"]
        inner["path"] = f"{scope['path']}{method}"
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self._inner(inner, replay, send)

    def expire_sessions(self) -> None:
        self.sessions.clear()

    async def _dispatch(self, scope: Scope, receive: Any, send: Any) -> None:
        path = scope.get("brygga.rpc_path", scope["path"])
        if scope["method"] != "POST":
            await _send(send, 405)
            return
        body = await _read_body(receive)
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        if "application/json" not in headers.get("content-type", ""):
            await _send(send, 400)
            return
        try:
            request = loads(body)
            request_id, method, params = request["id"], request["method"], request["params"]
        except (ValueError, KeyError, TypeError):
            await _send(send, 400)
            return
        if path == "/rpc/":
            if method == "common.server.version":
                await _send(send, 200, dumps({"id": request_id, "result": "8.2"}))
            else:
                await _send(send, 403)
            return
        if path != f"/{self.database}/rpc/":
            await _send(send, 404)
            return
        if method == "common.db.login":
            await self._login(send, request_id, params)
            return
        if not self._authorised(headers.get("authorization", "")):
            await _send(send, 401)
            return
        await self._call(send, request_id, method, params)

    async def _login(self, send: Any, request_id: Any, params: list[Any]) -> None:
        login = params[0] if params else None
        given = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        if login != self.login or given.get("password") != self.password:
            await _send(send, 401)
            return
        session = secrets.token_hex(16)
        self.sessions.add(session)
        await _send(send, 200, dumps({"id": request_id, "result": [1, session, None]}))

    def _authorised(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme != "Session":
            return False
        try:
            login, user, session = base64.b64decode(token).decode().split(":", 2)
        except (ValueError, UnicodeDecodeError):
            return False
        return login == self.login and user == "1" and session in self.sessions

    async def _call(self, send: Any, request_id: Any, method: str, params: list[Any]) -> None:
        try:
            result = self._run(method, params)
        except Forbidden:
            await _send(send, 403)
            return
        except SimUserError as exc:
            await _send(send, 200, dumps({"id": request_id, "error": exc.args_array()}))
            return
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            error = [f"{type(exc).__name__}: {exc}", "Traceback (simulated)"]
            await _send(send, 200, dumps({"id": request_id, "error": error}))
            return
        await _send(send, 200, dumps({"id": request_id, "result": result}))

    def _run(self, method: str, params: list[Any]) -> Any:
        if not method.startswith("model."):
            raise Forbidden(method)
        if not params or not isinstance(params[-1], dict):
            raise TypeError("Missing context argument")
        *args, context = params
        target, _, name = method[len("model.") :].rpartition(".")
        if target == "res.user" and name == "get_preferences":
            return self.models.preferences()
        return self.models.call(target, name, list(args), context)
