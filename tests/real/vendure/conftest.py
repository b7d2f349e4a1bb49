"""Fixtures of the Vendure tests against a real Vendure server (see vendure_server.py).

``vendure`` (session scope) starts one server for the whole run: a fresh copy of the
seeded sql.js database on a free 127.0.0.1 port. Tests that write make their own orders and
use their own SKUs, so they do not depend on each other's order. When Node.js, npm or the
npm packages cannot be had, every test that needs the server is skipped with the reason.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

# Until pyproject.toml lists brygga_vendure (package + entry point), the plugin is imported
# from the source tree.
_PLUGINS = str(Path(__file__).resolve().parents[3] / "plugins")
if _PLUGINS not in sys.path:
    sys.path.insert(0, _PLUGINS)

from vendure_server import VendureServer, VendureUnavailable, running_vendure  # noqa: E402


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


def vendure_config_raw(raw: dict[str, Any]) -> Any:
    """``raw`` decoded into a VendureConfig as the config loader does."""
    import msgspec

    from brygga.config import dec_hook
    from brygga_vendure.adapter import VendureConfig

    return msgspec.convert(raw, VendureConfig, dec_hook=dec_hook(Path.cwd()))


def vendure_config(server: VendureServer, **overrides: Any) -> Any:
    """A VendureConfig for ``server`` (decoded as the config loader does)."""
    raw = {
        "kind": "vendure",
        "name": "vendure-real",
        "base_url": server.admin_url,
        "username": server.superadmin,
        "password": server.password,
        # a test server on loopback: no need for the default 10 requests/s
        "rate_limit": {"requests": 500, "per_seconds": 1},
        **overrides,
    }
    return vendure_config_raw(raw)


@pytest.fixture
async def adapter(vendure: VendureServer) -> AsyncIterator[Any]:
    from brygga.adapters import AdapterContext
    from brygga_vendure.adapter import VendureAdapter

    shop = VendureAdapter(
        vendure_config(vendure), AdapterContext(connection="test", instance="vendure-real")
    )
    try:
        yield shop
    finally:
        await shop.aclose()
