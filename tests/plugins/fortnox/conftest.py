"""Fixtures for the Fortnox plugin tests: a simulator on a fake clock and adapters on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fortnox_support import config_for

from brygga.accountstate import MemoryAdapterState
from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga.testing.conformance.harness import KIT_START
from brygga_fortnox.adapter import FortnoxAdapter, FortnoxConfig
from brygga_fortnox.simulator import FortnoxSimulator

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
