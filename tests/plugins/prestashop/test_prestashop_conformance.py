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
        "rate_limit": {"requests": 500, "per_seconds": 0.05}
    }


class TestPrestashop17Conformance(ShopAdapterConformance):
    """The same battery on a 1.7 shop (no PATCH: writes read, then PUT the whole record)."""

    kind = "prestashop"
    simulator_options: ClassVar[dict[str, Any]] = {"version": "1.7"}
    adapter_overrides: ClassVar[dict[str, Any]] = {
        "rate_limit": {"requests": 500, "per_seconds": 0.05}
    }


class TestPrestashopTwoLanguagesConformance(ShopAdapterConformance):
    """Two languages (language fields as lists, §3.5) and the fixed empty list (``{"x": []}``)."""

    kind = "prestashop"
    simulator_options: ClassVar[dict[str, Any]] = {"languages": 2, "empty_list_quirk": False}
    adapter_overrides: ClassVar[dict[str, Any]] = {
        "rate_limit": {"requests": 500, "per_seconds": 0.05},
        "language": 2,
    }
