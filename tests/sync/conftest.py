"""An orders flow wired to the Starweb and e-conomic simulators in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from brygga.clock import SystemClock
from brygga.commands.common import load
from brygga.config import LoadedConfig
from brygga.http.client import HttpContext
from brygga.runtime.actor import build_adapters
from brygga.store import ItemState, Store
from brygga.sync.orders import OrdersFlow, document_reference
from brygga.testing import RoutingTransport, write_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

SHOP_URL = "http://shop.test/api/v2"
ERP_URL = "http://erp.test"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@dataclass
class FlowEnv:
    shop: StarwebSimulator
    erp: EconomicSimulator
    loaded: LoadedConfig
    store: Store
    http: HttpContext
    tmp: Path
    flows: list[OrdersFlow]

    def flow(self, run_id: str = "run-1") -> OrdersFlow:
        conn = self.loaded.connections[0]
        erp, shops = build_adapters(conn, self.http)
        flow = OrdersFlow(
            connection=conn.name,
            erp_name=conn.erp.name,
            store=self.store,
            shops=shops,
            erp=erp,
            options=conn.config.orders,
            clock=SystemClock(),
            run_id=run_id,
            lookup_by_reference=conn.erp_spec.capabilities.lookup_by_reference,
        )
        self.flows.append(flow)
        return flow

    def reference(self, order_id: str) -> str:
        return document_reference("demo", "se", order_id)

    def documents_for(self, order_id: str) -> int:
        return len(self.erp.documents_with_reference(self.reference(order_id)))

    async def drain(
        self, flow: OrdersFlow, register: str = "orders", *, limit: int = 500
    ) -> list[ItemState]:
        """Process due items until none is left (ignoring retry delays)."""
        outcomes = []
        for _ in range(limit):
            item = await flow.claim(register)
            if item is None:
                # make RETRY items due now, so tests need not wait for backoff
                changed = await self.store.db.execute(
                    "UPDATE work_items SET next_attempt = ? WHERE state = 'retry'",
                    ("2000-01-01T00:00:00.000000Z",),
                )
                if not changed:
                    break
                continue
            outcomes.append(await flow.process(item))
        return outcomes


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[FlowEnv]:
    shop = StarwebSimulator(seed=3)
    erp = EconomicSimulator()
    path = write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        erp=erp.adapter_config(ERP_URL),
        shops=[shop.adapter_config(SHOP_URL, name="se")],
        connection={"mode": "erp", "registers": {"price_lists": "off"}},
        sections={"orders": {"overlap": "5m", "lookback": "1h"}},
    )
    loaded, _ = load(path)
    transport = RoutingTransport({"shop.test": shop.app, "erp.test": erp.app})
    env = FlowEnv(
        shop=shop,
        erp=erp,
        loaded=loaded,
        store=await Store.open(loaded.state_path),
        http=HttpContext(transport=transport),
        tmp=tmp_path,
        flows=[],
    )
    try:
        yield env
    finally:
        for flow in env.flows:
            await flow.erp.aclose()
            for adapter in flow.shops.values():
                await adapter.aclose()
        await env.store.close()
