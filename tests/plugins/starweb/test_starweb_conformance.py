"""The shared adapter conformance kit run against the Starweb adapter and its simulator."""

from __future__ import annotations

from brygga.testing import ShopAdapterConformance


class TestStarwebConformance(ShopAdapterConformance):
    kind = "starweb"
    #: the simulator's own page size (100), so the paging check crosses a page boundary
    paging_orders = 130
