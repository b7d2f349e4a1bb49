"""Helpers for the PrestaShop tests: adapters and raw clients on the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec

from brygga.adapters import AdapterContext
from brygga.config import dec_hook
from brygga.http.client import HttpContext
from brygga_prestashop.adapter import PrestashopAdapter, PrestashopConfig
from brygga_prestashop.simulator import PrestashopSimulator

BASE_URL = "http://shop.test"
#: 10,000 requests/s in a 50 ms window: a new limiter waits one window before its first request
FAST = {"requests": 500, "per_seconds": 0.05}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


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


__all__ = ["BASE_URL", "open_adapter", "raw_client", "utc", "xml"]


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
