"""e-conomic as a stock source: inventory.available with the inventory module, a clear refusal
without it.

Documented rules followed (the products schema, e-conomic/slate ``_products.md`` /
reference/erp-apis.md §1.6): ``inventory`` is "only applicable if the inventory module is
enabled" and read-only; ``inventory.available`` is "the difference between the amount in stock
and the amount ordered by customers"; ``lastUpdated`` changes "either directly or through
inventory changed"; product groups say ``inventoryEnabled``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from brygga.catalog import StockLevel
from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio


async def test_stock_of_reads_available(
    sim: EconomicSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    sim.set_inventory_module(True)
    clock.advance(30)
    sim.set_stock("KAFFE-500", Decimal(12), ordered=Decimal("2.5"))
    changed_at = clock.now()
    async with open_adapter() as adapter:
        level = await adapter.stock_of("KAFFE-500")
        empty = await adapter.stock_of("MUGG-VIT")
        unknown = await adapter.stock_of("FINNS-INTE")
    assert level == StockLevel(sku="KAFFE-500", quantity=Decimal("9.5"), modified_at=changed_at)
    assert empty is not None and empty.quantity == 0  # a real 0: the module is on
    assert unknown is None


async def test_changed_stock_follows_last_updated(
    sim: EconomicSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    sim.set_inventory_module(True)
    clock.advance(60)
    since = clock.now()
    clock.advance(1)
    sim.set_stock("TE-100", Decimal(40))
    sim.set_stock("BOK-01", Decimal(0))
    async with open_adapter(page_size=1) as adapter:
        levels = [
            lv async for lv in adapter.changed_stock(since, clock.now() + timedelta(seconds=1))
        ]
    assert {(lv.sku, lv.quantity) for lv in levels} == {
        ("TE-100", Decimal(40)),
        ("BOK-01", Decimal(0)),
    }


async def test_products_outside_inventory_groups_have_no_stock(
    sim: EconomicSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    sim.state.add_product_group(5, "Tjänster", {1: 3001}, inventory_enabled=False)
    sim.set_inventory_module(True)
    clock.advance(60)
    since = clock.now()
    sim.set_product("fraktavg", productGroup={"productGroupNumber": 5})
    sim.set_stock("TE-100", Decimal(7))
    async with open_adapter() as adapter:
        levels = [lv.sku async for lv in adapter.changed_stock(since, clock.now() + timedelta(1))]
        with pytest.raises(PermanentError, match=r"'fraktavg' is in e-conomic product group 5"):
            await adapter.stock_of("fraktavg")
    assert levels == ["TE-100"]  # the freight article is left out, not sent as 0


async def test_without_the_inventory_module_stock_is_refused_not_zero(
    sim: EconomicSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    clock.advance(60)
    since = clock.now()
    sim.set_stock("TE-100", Decimal(7))  # kept, but not shown without the module
    async with open_adapter() as adapter:
        with pytest.raises(PermanentError, match="no inventory module") as caught:
            await adapter.stock_of("TE-100")
        with pytest.raises(PermanentError, match="no inventory module"):
            async for _ in adapter.changed_stock(since, clock.now() + timedelta(seconds=1)):
                pass
        assert "another system master stock" in str(caught.value)
        # turned on in e-conomic: the next read sees it without a restart
        sim.set_inventory_module(True)
        level = await adapter.stock_of("TE-100")
    assert level is not None and level.quantity == 7


async def test_stock_of_an_unknown_or_impossible_sku_is_none(
    sim: EconomicSimulator, open_adapter: Any
) -> None:
    sim.set_inventory_module(True)
    async with open_adapter() as adapter:
        assert await adapter.stock_of("FINNS-INTE") is None
        assert await adapter.stock_of("X" * 26) is None
