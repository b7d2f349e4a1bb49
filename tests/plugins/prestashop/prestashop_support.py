"""Helpers for the PrestaShop tests: plugin registration without the entry point, adapters."""

from __future__ import annotations

import functools
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

try:
    import brygga_prestashop  # noqa: F401
except ImportError:  # an editable install made before the package existed does not map it
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "plugins"))

import brygga.plugins
import brygga.testing.conformance.harness as harness
import brygga.testing.connection as connection
from brygga.adapters import AdapterContext
from brygga.config import dec_hook
from brygga.http.client import HttpContext
from brygga.plugins import PluginHost
from brygga_prestashop import plugin as prestashop_plugin
from brygga_prestashop.adapter import PrestashopAdapter, PrestashopConfig
from brygga_prestashop.simulator import PrestashopSimulator

BASE_URL = "http://shop.test"
#: 10,000 requests/s in a 50 ms window: a new limiter waits one window before its first request
FAST = {"requests": 500, "per_seconds": 0.05}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


class _Host(PluginHost):
    """A PluginHost that also loads the PrestaShop plugin when no entry point provides it."""

    def __init__(self, **kwargs: Any) -> None:
        extra = list(kwargs.pop("extra", ()))
        if "prestashop" not in {ep.name for ep in _entry_points()}:
            extra.append(("prestashop", prestashop_plugin))
        super().__init__(extra=extra, **kwargs)


@functools.cache
def _entry_points() -> tuple[Any, ...]:
    import importlib.metadata

    return tuple(importlib.metadata.entry_points(group="brygga"))


def register_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the conformance kit and SimulatedConnection see the ``prestashop`` kind."""
    monkeypatch.setattr(connection, "PluginHost", _Host)
    monkeypatch.setattr(brygga.plugins, "PluginHost", _Host)
    monkeypatch.setattr(harness, "_plugin_host", functools.cache(lambda: _Host()))


def host() -> PluginHost:
    return _Host()


@asynccontextmanager
async def open_adapter(
    sim: PrestashopSimulator, http: HttpContext | None = None, **overrides: Any
) -> AsyncIterator[PrestashopAdapter]:
    raw = sim.adapter_config(BASE_URL, name="se") | {"rate_limit": FAST} | overrides
    config = msgspec.convert(raw, PrestashopConfig, dec_hook=dec_hook(Path.cwd()))
    transport = httpx.ASGITransport(app=sim.app)
    context = AdapterContext(
        connection="demo",
        instance="se",
        http=http or HttpContext(transport=transport, clock=sim.clock),
    )
    adapter = PrestashopAdapter(config, context)
    try:
        yield adapter
    finally:
        await adapter.aclose()


__all__ = ["BASE_URL", "host", "open_adapter", "raw_client", "register_plugin", "utc", "xml"]


@asynccontextmanager
async def raw_client(
    sim: PrestashopSimulator, key: str | None = None, *, json: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """A plain httpx client on the simulator's /api/, authenticated with ``key`` (the
    simulator's own by default) as Basic user with an empty password."""
    params = {"output_format": "JSON"} if json else {}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app),
        base_url=BASE_URL + "/api/",
        auth=(sim.key if key is None else key, ""),
        params=params,
    ) as client:
        yield client


def xml(singular: str, **fields: str) -> bytes:
    """A write body in the ``<prestashop>`` envelope (input is XML only, §3.2)."""
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return f"<prestashop><{singular}>{inner}</{singular}></prestashop>".encode()
