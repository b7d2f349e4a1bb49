"""The shared conformance kit (shop battery and order-status checks) on the Vendure adapter
and its simulator (in-process, on the kit's fake clock; no Node needed)."""

from __future__ import annotations

import pytest
from vendure_support import host_with_vendure

from brygga.testing import ShopAdapterConformance
from brygga.testing.conformance import harness


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The kit runs on both backends (this directory's conftest pins asyncio for the real
    server's tests)."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _vendure_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kit looks kinds up in PluginHost(); vendure may be no entry point yet."""
    monkeypatch.setattr(harness, "_plugin_host", host_with_vendure)


class TestVendureConformance(ShopAdapterConformance):
    kind = "vendure"
    paging_orders = 130
