"""Cursor tests run the orders poller on the simulators with a fake clock (store-bound: asyncio)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cursor_support import CursorEnv, open_env


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[CursorEnv]:
    async with open_env(tmp_path) as opened:
        yield opened
