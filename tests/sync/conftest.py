"""An orders flow wired to the Starweb and e-conomic simulators in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from brygga.testing import SimulatedConnection


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def env(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[SimulatedConnection]:
    # tests of the order's own read turn off reading orders in full with the order list
    alone = request.node.get_closest_marker("orders_read_alone") is not None
    async with SimulatedConnection.open(
        tmp_path, shop_options={"seed": 3}, shop_config={"orders_from_list": not alone}
    ) as opened:
        yield opened
