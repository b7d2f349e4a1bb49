"""Helpers for the Starweb plugin tests: config decoding, raw API access, async collection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import msgspec

from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga.secrets import Secret, resolve_secret
from brygga_starweb.adapter import StarwebAdapter, StarwebConfig
from brygga_starweb.simulator import StarwebSimulator

BASE_URL = "https://butiken.starwebserver.se/api/v2"
T = TypeVar("T")


def _dec_hook(type_: type, value: Any) -> Any:
    if type_ is Secret:
        return resolve_secret(value)
    raise NotImplementedError(type_)


def starweb_config(sim: StarwebSimulator, **overrides: Any) -> StarwebConfig:
    """Decode the simulator's raw config table the way the config loader does."""
    raw = sim.adapter_config(BASE_URL, name="se") | overrides
    return msgspec.convert(raw, StarwebConfig, dec_hook=_dec_hook)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


async def collect(items: AsyncIterator[T]) -> list[T]:
    return [item async for item in items]


async def token(client: httpx.AsyncClient, sim: StarwebSimulator) -> str:
    response = await client.post(
        "token",
        data={
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": sim.client_secret,
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@asynccontextmanager
async def open_starweb_adapter(
    sim: StarwebSimulator,
    clock: FakeClock,
    *,
    limiter_clock: FakeClock | None = None,
    app: Any = None,
    **overrides: Any,
) -> AsyncIterator[StarwebAdapter]:
    """An adapter on ``sim`` in-process (through ``app`` when given: an ASGI app in front
    of ``sim.app``). The rate limiter runs on a clock of its own (``limiter_clock``), so its
    waits do not move the shop's time."""
    context = AdapterContext(
        connection="test",
        instance="se",
        http=HttpContext(
            transport=httpx.ASGITransport(app=app or sim.app),
            clock=clock,
            limiters=RateLimiterRegistry(limiter_clock or FakeClock()),
        ),
    )
    adapter = StarwebAdapter(starweb_config(sim, **overrides), context)
    try:
        yield adapter
    finally:
        await adapter.aclose()


Api = Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]


def raw_client(sim: StarwebSimulator) -> httpx.AsyncClient:
    """An httpx client on the simulator without a token."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=BASE_URL + "/")


def place_orders(
    sim: StarwebSimulator, clock: FakeClock, count: int, step: float = 60
) -> list[str]:
    """``count`` orders, ``step`` seconds apart (the clock moves on after each)."""
    ids = []
    for n in range(count):
        ids.append(sim.place_order(lines=[("KAFFE-500", n % 3 + 1)], email=f"k{n}@example.se"))
        clock.advance(step)
    return ids
