"""Fixtures for the e-conomic plugin tests: a simulator, a fake clock and adapters on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from economic_support import BASE_URL, economic_config

from brygga.adapters import AdapterContext
from brygga.clock import FakeClock
from brygga.http.client import HttpContext
from brygga.http.ratelimit import RateLimiterRegistry
from brygga_economic.adapter import EconomicAdapter
from brygga_economic.simulator import EconomicSimulator

AdapterFactory = Callable[..., Any]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> EconomicSimulator:
    return EconomicSimulator(clock=clock)


@pytest.fixture
def api(sim: EconomicSimulator) -> Callable[[], httpx.AsyncClient]:
    """A raw httpx client on the simulator with valid tokens (use it with ``async with``)."""

    def make(**headers: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sim.app),
            base_url=BASE_URL,
            headers={
                "X-AppSecretToken": sim.app_secret_token,
                "X-AgreementGrantToken": sim.agreement_grant_token,
                **headers,
            },
        )

    return make


@pytest.fixture
def open_adapter(sim: EconomicSimulator, clock: FakeClock) -> AdapterFactory:
    """``async with open_adapter(**config_overrides) as adapter`` on the simulator."""

    @asynccontextmanager
    async def opened(**overrides: Any) -> AsyncIterator[EconomicAdapter]:
        context = AdapterContext(
            connection="test",
            instance="economic",
            http=HttpContext(
                transport=httpx.ASGITransport(app=sim.app),
                clock=clock,
                limiters=RateLimiterRegistry(clock),
            ),
        )
        adapter = EconomicAdapter(economic_config(sim, **overrides), context)
        try:
            yield adapter
        finally:
            await adapter.aclose()

    return opened


@pytest.fixture
def customer_one(sim: EconomicSimulator) -> int:
    """Customer number 1 in the simulator."""
    return sim.add_customer(name="Anna Andersson", email="anna@example.se")
