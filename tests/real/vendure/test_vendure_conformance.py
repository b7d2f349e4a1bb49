"""The shared conformance kit (shop battery and order-status checks) on the Vendure adapter
and its simulator (in-process, on the kit's fake clock; no Node needed)."""

from __future__ import annotations

import pytest

from brygga.testing import ShopAdapterConformance


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """The kit runs on both backends (this directory's conftest pins asyncio for the real
    server's tests)."""
    return str(request.param)


class TestVendureConformance(ShopAdapterConformance):
    kind = "vendure"
    paging_orders = 130
