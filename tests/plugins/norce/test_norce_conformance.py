"""The shared conformance kit (shop battery and order-status checks) on Norce + its simulator."""

from __future__ import annotations

from typing import Any, ClassVar

from brygga.testing import ShopAdapterConformance


class TestNorceConformance(ShopAdapterConformance):
    kind = "norce"
    #: the simulator's page size is 5 here, so paging crosses many Query pages
    simulator_options: ClassVar[dict[str, Any]] = {"page_size": 5}
    paging_orders = 30
    adapter_overrides: ClassVar[dict[str, Any]] = {"job_poll_interval": 0.01}
