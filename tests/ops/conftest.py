"""Fixtures for the error queue and replay tests: the store needs asyncio."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from ops_support import SHOP, Ops

from brygga.commands.common import load
from brygga.http.client import HttpContext
from brygga.store import Store
from brygga.testing import RoutingTransport, write_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

SHOP_URL = "http://shop.test/api/v2"
ERP_URL = "http://erp.test"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def ops(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> AsyncIterator[Ops]:
    shop = StarwebSimulator(seed=3)
    erp = EconomicSimulator()
    path = write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        erp=erp.adapter_config(ERP_URL),
        shops=[shop.adapter_config(SHOP_URL, name=SHOP)],
        connection={"mode": "erp", "registers": {"price_lists": "off"}},
        sections={"orders": {"overlap": "5m", "lookback": "1h"}},
    )
    loaded, _ = load(path)
    transport = RoutingTransport({"shop.test": shop.app, "erp.test": erp.app})
    env = Ops(
        shop=shop,
        erp=erp,
        loaded=loaded,
        config=path,
        store=await Store.open(loaded.state_path),
        http=HttpContext(transport=transport),
        capsys=capsys,
    )
    try:
        yield env
    finally:
        for flow in env.flows:
            await flow.erp.aclose()
            for adapter in flow.shops.values():
                await adapter.aclose()
        await env.store.close()
