"""The shared adapter conformance kit (orders and order statuses) run against the PrestaShop
adapter and its simulator."""

from __future__ import annotations

from typing import Any, ClassVar

from brygga.testing import ShopAdapterConformance


class TestPrestashopConformance(ShopAdapterConformance):
    kind = "prestashop"
    #: the adapter's page of 100, so the paging check crosses page boundaries
    paging_orders = 130
    #: generous limit: the kit tests answers, not pacing
    adapter_overrides: ClassVar[dict[str, Any]] = {
        "rate_limit": {"requests": 10_000, "per_seconds": 1}
    }
