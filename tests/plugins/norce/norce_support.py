"""Helpers of the Norce plugin tests: URLs, a bearer token, adapter configs and adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "BASE_URL",
    "START",
    "bearer",
    "norce_config",
    "open_adapter",
    "utc",
]

BASE_URL = "https://demo.api-se.playground.norce.tech"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


#: a winter Monday morning
START = utc(2026, 2, 2, 8, 0, 0)


async def bearer(client: httpx.AsyncClient, sim: Any) -> str:
    answer = await client.post(
        "/identity/1.0/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
            "scope": sim.environment,
        },
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def norce_config(sim: Any, **overrides: Any) -> Any:
    """The simulator's adapter table as a NorceConfig (decoded as the config loader does)."""
    import msgspec

    from brygga.config import dec_hook
    from brygga_norce.adapter import NorceConfig

    raw = {**sim.adapter_config(BASE_URL, name="norce-se"), **overrides}
    return msgspec.convert(raw, NorceConfig, dec_hook=dec_hook(Path.cwd()))


@asynccontextmanager
async def open_adapter(
    sim: Any, clock: Any, state: Any = None, **overrides: Any
) -> AsyncIterator[Any]:
    """A NorceAdapter on ``sim`` in-process, on ``clock``, with ``state`` (default: new)."""
    from brygga.accountstate import MemoryAdapterState
    from brygga.adapters import AdapterContext
    from brygga.http.client import HttpContext
    from brygga_norce.adapter import NorceAdapter

    overrides.setdefault("job_poll_interval", 0.01)
    context = AdapterContext(
        connection="test",
        instance="norce-se",
        http=HttpContext(transport=httpx.ASGITransport(app=sim.app), clock=clock),
        state=state if state is not None else MemoryAdapterState(),
    )
    adapter = NorceAdapter(norce_config(sim, **overrides), context)
    try:
        yield adapter
    finally:
        await adapter.aclose()
