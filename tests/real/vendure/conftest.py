"""Fixtures of the Vendure tests against a real Vendure server (see vendure_server.py).

``vendure`` (session scope) starts one server for the whole run: a fresh copy of the
seeded sql.js database on a free 127.0.0.1 port. Tests that write make their own orders and
use their own SKUs, so they do not depend on each other's order. When Node.js, npm or the
npm packages cannot be had, every test that needs the server is skipped with the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from vendure_server import VendureServer, VendureUnavailable, running_vendure
from vendure_support import vendure_config

from brygga.http.client import HttpContext
from brygga.http.tokens import TokenCache


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real: needs a real third-party server the test starts itself on loopback"
    )


@pytest.fixture
def anyio_backend() -> str:
    """The real-server tests run once, on asyncio (the adapter itself is anyio code; its
    backend-neutral behaviour is covered by the simulator tests)."""
    return "asyncio"


@pytest.fixture(scope="session")
def vendure() -> Iterator[VendureServer]:
    try:
        with running_vendure() as server:
            yield server
    except VendureUnavailable as exc:
        pytest.skip(f"real Vendure unavailable: {exc}")


@pytest.fixture(scope="session")
def vendure_tokens() -> TokenCache:
    """One token cache for the run, as the daemon keeps one: the tests' adapters share one
    admin session (a login costs a bcrypt check, about a second on a busy machine)."""
    return TokenCache()


@pytest.fixture
async def adapter(vendure: VendureServer, vendure_tokens: TokenCache) -> AsyncIterator[Any]:
    from brygga.adapters import AdapterContext
    from brygga_vendure.adapter import VendureAdapter

    shop = VendureAdapter(
        vendure_config(vendure),
        AdapterContext(
            connection="test", instance="vendure-real", http=HttpContext(tokens=vendure_tokens)
        ),
    )
    try:
        yield shop
    finally:
        await shop.aclose()
