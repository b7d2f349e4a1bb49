"""The products mapping in the real products flow: brygga's test kit runs the daemon's own
wiring between the simulated Starweb shop and the simulated e-conomic, in-process, with this
plugin's mappings (``SimulatedConnection``: the same flow the daemon runs, mappings included)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from brygga.clock import FakeClock
from brygga.plugins import PluginHost
from brygga.store import ItemState
from brygga.sync.flow import Flow
from brygga.testing import SimulatedConnection

from brygga_sku_prefix import plugin

pytestmark = pytest.mark.anyio

#: e-conomic product groups per VAT rate (groups the simulator is seeded with)
GROUPS = {"product_groups": {"25": 1, "12": 2, "6": 3, "0": 4}, "product_group": 1}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # brygga's state store runs on asyncio


@pytest.fixture
def host() -> Iterator[PluginHost]:
    yield PluginHost(entry_points=False, extra=[(plugin.PLUGIN_NAME, plugin)])
    plugin.brygga_startup({})  # back to the defaults for the next test


async def _cycle(env: SimulatedConnection, flow: Flow) -> None:
    """A second on: every feed polled once, then every due item run."""
    assert isinstance(env.clock, FakeClock)
    env.clock.advance(1)
    for discoverer in flow.discoverers:
        for instance in discoverer.instances:
            await flow.poll(discoverer, instance)
    for register in flow.engine.handlers:
        await env.drain(flow, register)


async def test_erp_articles_reach_the_shop_through_the_products_mapping(
    tmp_path: Path, host: PluginHost
) -> None:
    clock = FakeClock(datetime(2026, 5, 4, 8, 0, tzinfo=UTC))
    async with SimulatedConnection.open(
        tmp_path,
        clock=clock,
        shop_options={"seed": 3, "clock": clock},
        erp_options={"inventory_module": True, "clock": clock},
        erp_config=GROUPS,
        catalog=True,  # products, prices and stock from the ERP ("erp" mode)
    ) as env:
        # configured after the connection's config is loaded: loading it calls every installed
        # plugin's brygga_startup with the config's [plugins] tables (none here), as the
        # daemon does, which would put this plugin back to its defaults
        host.startup({plugin.PLUGIN_NAME: {"name_prefix": "WEB ", "internal_mark": "(intern)"}})
        env.mappings = host.mappings
        flow = env.flow()
        await _cycle(env, flow)
        env.erp.set_product("KAFFE-500", name="WEB Kaffe mörkrost 500 g")
        env.erp.add_article("HYLLA-1", "Hyllplan (intern)", Decimal("10.00"), Decimal(25))
        await _cycle(env, flow)
        failed = await env.store.items.query(states=[ItemState.FAILED])
        assert failed == [], [i.last_error for i in failed]
        # the name without the ERP's prefix, and no internal article in the shop
        assert env.shop.catalog_product("KAFFE-500").name == "Kaffe mörkrost 500 g"
        assert env.shop.catalog.find_sku("HYLLA-1") is None
        (skipped,) = [
            i
            for i in await env.store.items.query(connection="demo")
            if i.register == "products" and i.external_id == "HYLLA-1"
        ]
        assert skipped.state is ItemState.SKIPPED
        assert "skipped by mapping 'shop-product-names'" in skipped.last_error
