"""Fixtures for hostile-input tests: an orders flow on both simulators, each behind a rewriter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hostile_support import ERP_URL, SHOP_URL, FlowEnv, Rewriter

from brygga.commands.common import load
from brygga.http.client import HttpContext
from brygga.store import Store
from brygga.testing import RoutingTransport, write_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

FAST = {"requests": 10_000, "per_seconds": 1}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[FlowEnv]:
    shop = StarwebSimulator(seed=5)
    erp = EconomicSimulator()
    path = write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        # generous rate limits: the cases test answers, not pacing, and there are many
        erp={**erp.adapter_config(ERP_URL), "rate_limit": FAST},
        shops=[{**shop.adapter_config(SHOP_URL, name="se"), "rate_limit": FAST}],
        connection={"mode": "erp", "registers": {"price_lists": "off"}},
        sections={"orders": {"overlap": "5m", "lookback": "1h"}},
    )
    loaded, _ = load(path)
    shop_proxy, erp_proxy = Rewriter(shop.app), Rewriter(erp.app)
    # a host no adapter may ever call (links in answers point here); it answers like the ERP
    # so that only its request log can tell that it was called
    evil = Rewriter(erp.app)
    transport = RoutingTransport(
        {"shop.test": shop_proxy, "erp.test": erp_proxy, "evil.test": evil}
    )
    env = FlowEnv(
        shop=shop,
        erp=erp,
        shop_proxy=shop_proxy,
        erp_proxy=erp_proxy,
        evil=evil,
        loaded=loaded,
        store=await Store.open(loaded.state_path),
        http=HttpContext(transport=transport),
        tmp=tmp_path,
    )
    try:
        yield env
    finally:
        for flow in env.flows:
            await flow.erp.aclose()
            for adapter in flow.shops.values():
                await adapter.aclose()
        await env.store.close()
