"""Fixtures for the Starweb plugin tests: a simulator on a fake clock and adapters on it."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from starweb_support import BASE_URL, open_starweb_adapter, token, utc

from brygga.clock import FakeClock
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.simulator import StarwebSimulator

#: a winter Monday morning; Stockholm is UTC+1
START = utc(2026, 2, 2, 8, 0, 0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def sim(clock: FakeClock) -> StarwebSimulator:
    return StarwebSimulator(clock=clock, page_size=5)


@pytest.fixture
def api(sim: StarwebSimulator) -> Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """``async with api() as client``: a raw httpx client on the simulator, authorised."""

    @asynccontextmanager
    async def opened() -> AsyncIterator[httpx.AsyncClient]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sim.app), base_url=BASE_URL + "/"
        ) as client:
            client.headers["Authorization"] = f"Bearer {await token(client, sim)}"
            yield client

    return opened


@pytest.fixture
def open_adapter(
    sim: StarwebSimulator, clock: FakeClock
) -> Callable[..., AbstractAsyncContextManager[StarwebAdapter]]:
    """``async with open_adapter(**config_overrides) as adapter`` on the simulator."""
    return functools.partial(open_starweb_adapter, sim, clock)
