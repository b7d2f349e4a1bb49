"""Tools for tests, the demo and plugin authors: in-process routing to simulators, config files.

The adapter conformance kit lives in :mod:`brygga.conformance`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from brygga.simulation import Asgi

__all__ = ["RoutingTransport", "toml_config", "write_config"]


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


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, Sequence):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def toml_config(
    *,
    state: str,
    erp: Mapping[str, Any],
    shops: Sequence[Mapping[str, Any]],
    name: str = "demo",
    listen: str = "127.0.0.1:0",
    daemon: Mapping[str, Any] | None = None,
    connection: Mapping[str, Any] | None = None,
    sections: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """A config file for one connection (the demo's and the end-to-end tests')."""
    lines = ["[daemon]", f"state = {_value(state)}", f"listen = {_value(listen)}"]
    lines += [f"{k} = {_value(v)}" for k, v in (daemon or {}).items()]
    lines += ["", "[[connection]]", f"name = {_value(name)}", f"erp = {_value(erp)}"]
    lines.append("shops = [" + ", ".join(_value(shop) for shop in shops) + "]")
    lines += [f"{k} = {_value(v)}" for k, v in (connection or {}).items()]
    for section, values in (sections or {}).items():
        lines += ["", f"[connection.{section}]"]
        lines += [f"{k} = {_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def write_config(path: Path, **kwargs: Any) -> Path:
    path.write_text(toml_config(**kwargs), encoding="utf-8")
    return path
