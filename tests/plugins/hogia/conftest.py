"""Fixtures for the Hogia plugin tests: a simulator and adapters on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.config import dec_hook
from brygga.http.client import HttpContext
from brygga.testing.conformance.harness import KIT_START
from brygga_hogia.adapter import HogiaAdapter, HogiaConfig
from brygga_hogia.simulator import HogiaSimulator

BASE_URL = "https://hogia.test"
AdapterFactory = Callable[..., Any]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(KIT_START)


@pytest.fixture
def sim(clock: FakeClock) -> HogiaSimulator:
    return HogiaSimulator(clock=clock)


@pytest.fixture
def open_adapter(sim: HogiaSimulator, clock: FakeClock) -> AdapterFactory:
    """``async with open_adapter(**config_overrides) as adapter`` on the simulator."""

    @asynccontextmanager
    async def opened(**overrides: Any) -> AsyncIterator[HogiaAdapter]:
        context = AdapterContext(
            connection="test",
            instance="hogia",
            http=HttpContext(transport=httpx.ASGITransport(app=sim.app), clock=clock),
        )
        raw = {**sim.adapter_config(BASE_URL), **overrides}
        config = msgspec.convert(raw, HogiaConfig, dec_hook=dec_hook(Path.cwd()))
        adapter = HogiaAdapter(config, context)
        try:
            yield adapter
        finally:
            await adapter.aclose()

    return opened
