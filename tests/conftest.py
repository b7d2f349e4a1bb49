"""Shared fixtures: async tests run on asyncio and trio unless they need the store."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Backend-neutral tests run twice; store-bound tests override this with asyncio only."""
    return str(request.param)
