"""Fixtures for the Norce plugin tests: a simulator on a fake clock and raw API clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from norce_support import BASE_URL, START, bearer

from brygga.clock import FakeClock
from brygga_norce.simulator import NorceSimulator


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def sim(clock: FakeClock) -> NorceSimulator:
    return NorceSimulator(clock=clock, page_size=5)


@pytest.fixture
async def api(sim: NorceSimulator) -> AsyncIterator[httpx.AsyncClient]:
    """A raw client on the simulator with a bearer token and the ApplicationId header."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url=BASE_URL
    ) as client:
        client.headers["Authorization"] = f"Bearer {await bearer(client, sim)}"
        client.headers["ApplicationId"] = "1"
        yield client
