"""The shared conformance kit (shop battery and order-status checks) on the Vendure adapter
and its simulator (in-process, on the kit's fake clock; no Node needed)."""

from __future__ import annotations

import functools

import pytest
import vendure_support  # noqa: F401  (puts the plugin on sys.path)

import brygga_vendure.plugin as vendure_plugin
from brygga.plugins import PluginHost
from brygga.testing import ShopAdapterConformance
from brygga.testing.conformance import harness


@functools.cache
def _host_with_vendure() -> PluginHost:
    return PluginHost(extra=[("vendure", vendure_plugin)])


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The kit runs on both backends (this directory's conftest pins asyncio for the real
    server's tests)."""
    return str(request.param)


@pytest.fixture(autouse=True)
def _vendure_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kit looks kinds up in PluginHost(); vendure is no entry point yet."""
    monkeypatch.setattr(harness, "_plugin_host", _host_with_vendure)


class TestVendureConformance(ShopAdapterConformance):
    kind = "vendure"
    paging_orders = 130
