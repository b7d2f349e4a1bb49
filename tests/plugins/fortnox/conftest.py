"""Fixtures for the Fortnox plugin tests: a simulator on a fake clock and adapters on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import fortnox_support  # noqa: F401  (registers the plugin before anything looks it up)
import httpx
import msgspec
import pytest

from brygga.accountstate import MemoryAdapterState
from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga.testing.conformance.harness import KIT_START
from brygga_fortnox.adapter import FortnoxAdapter, FortnoxConfig
from brygga_fortnox.simulator import FortnoxSimulator

BASE_URL = "https://api.fortnox.test"
AdapterFactory = Callable[..., Any]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(KIT_START)


@pytest.fixture
def sim(clock: FakeClock) -> FortnoxSimulator:
    return FortnoxSimulator(clock=clock)


@pytest.fixture
def state() -> MemoryAdapterState:
    return MemoryAdapterState()


def config_for(sim: FortnoxSimulator, **overrides: Any) -> FortnoxConfig:
    raw = {**sim.adapter_config(BASE_URL), **overrides}
    return msgspec.convert(raw, FortnoxConfig, dec_hook=_secret)


def _secret(type_: type, value: Any) -> Any:
    from brygga.secrets import Secret

    if type_ is Secret:
        return Secret(value)
    raise NotImplementedError


@pytest.fixture
def open_adapter(sim: FortnoxSimulator, clock: FakeClock, state: MemoryAdapterState) -> Any:
    """``async with open_adapter(config=..., http=..., state=...) as adapter`` on the sim."""

    @asynccontextmanager
    async def opened(
        config: FortnoxConfig | None = None,
        http: HttpContext | None = None,
        adapter_state: Any = None,
    ) -> AsyncIterator[FortnoxAdapter]:
        context = AdapterContext(
            connection="test",
            instance="fortnox",
            http=http
            or HttpContext(
                transport=httpx.ASGITransport(app=sim.app),
                clock=clock,
                limiters=RateLimiterRegistry(clock),
            ),
            state=adapter_state if adapter_state is not None else state,
        )
        adapter = FortnoxAdapter(config or config_for(sim), context)
        try:
            yield adapter
        finally:
            await adapter.aclose()

    return opened
