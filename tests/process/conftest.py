"""Process tests run on asyncio (the daemon's store does) and are marked `subprocess`."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/process" in str(item.fspath):
            item.add_marker(pytest.mark.subprocess)
