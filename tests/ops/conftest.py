"""Fixtures for the error queue and replay tests: the store needs asyncio."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ops_support import Ops


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def ops(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> AsyncIterator[Ops]:
    async with Ops.open(tmp_path, shop_options={"seed": 3}) as env:
        assert isinstance(env, Ops)
        env.capsys = capsys
        yield env
