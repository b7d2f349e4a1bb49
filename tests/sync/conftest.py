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
async def env(tmp_path: Path) -> AsyncIterator[SimulatedConnection]:
    async with SimulatedConnection.open(tmp_path, shop_options={"seed": 3}) as opened:
        yield opened
