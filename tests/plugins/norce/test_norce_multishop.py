"""One connection, one e-conomic, three shops: Starweb and two Norce channels of one Norce
client (issue 12: "channels as native multishop", "a multishop connection mixing shops").

Norce pushes every order of the client to one receiver URL (the ERP endpoint is set per
client in Norce Admin, [NO3]); the shop whose channel the order is in transfers it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from brygga.http.app import WebhookRegistry, create_app
from brygga.http.client import HttpContext
from brygga.metrics import Metrics
from brygga.plugins import PluginHost
from brygga.runtime.actor import _register_webhooks
from brygga.store import ItemState
from brygga.sync.references import document_reference
from brygga.sync.wiring import load_checked
from brygga.sync.writeback import WRITEBACK
from brygga.testing import SimulatedConnection
from brygga.testing.process import write_config
from brygga.testing.routing import RoutingTransport
from brygga_economic.simulator import EconomicSimulator
from brygga_norce.simulator import NorceSimulator
from brygga_starweb.simulator import StarwebSimulator

TOKEN = "norce-multishop-0123456789abcd"
FAST = {"requests": 1_000, "per_seconds": 0.05}
OFF = {"products": "off", "prices": "off", "stock": "off", "price_lists": "off"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Any]:
    starweb, norce, erp = StarwebSimulator(seed=3), NorceSimulator(seed=5), EconomicSimulator()
    limit = {"rate_limit": FAST}
    shops = [
        {**starweb.adapter_config("http://shop.test/api/v2", name="sw"), **limit},
        {
            **norce.adapter_config("http://norce.test", name="nc-se"),
            **limit,
            "channels": [1],
            "webhook_token": TOKEN,
        },
        {**norce.adapter_config("http://norce.test", name="nc-no"), **limit, "channels": [2]},
    ]
    path = write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        name="demo",
        erp={**erp.adapter_config("http://erp.test"), **limit},
        shops=shops,
        connection={"mode": "erp", "registers": OFF},
        sections={"orders": {"overlap": "5m", "lookback": "1h"}},
    )
    loaded = load_checked(path, PluginHost())
    apps = {"shop.test": starweb.app, "norce.test": norce.app, "erp.test": erp.app}
    opened = await SimulatedConnection.attach(
        shop=starweb, erp=erp, loaded=loaded, http=HttpContext(transport=RoutingTransport(apps))
    )
    try:
        yield opened, starweb, norce
    finally:
        await opened.close()


@pytest.mark.anyio
async def test_starweb_and_two_norce_channels_on_one_erp(env: Any) -> None:
    conn, starweb, norce = env
    sw = starweb.place_order(lines=[("KAFFE-500", 1)], email="anna@example.se")
    se = norce.place_order(lines=[("TE-100", 2)], email="bo@example.se", channel=1)
    no = norce.place_order(lines=[("MUGG-VIT", 1)], email="ola@example.no", channel=2)
    flow = conn.flow()
    registry = WebhookRegistry()
    _register_webhooks(conn.loaded.connections[0], flow, registry)
    app = create_app(Metrics(), webhooks=registry)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as daemon:
        norce.configure_receiver(f"http://daemon/webhooks/demo/{TOKEN}")
        assert [a.status for a in await norce.push_pending(daemon)] == [200, 200]
    assert norce.pending == []
    for shop in ("sw", "nc-se", "nc-no"):
        assert await flow.poll_once(shop) == 1, shop
    assert set(await conn.drain(flow)) == {ItemState.DONE}
    await conn.drain(flow, WRITEBACK)
    for shop, ref in (("sw", sw), ("nc-se", se), ("nc-no", no)):
        found = conn.erp.documents_with_reference(document_reference("demo", shop, ref))
        assert len(found) == 1, (shop, ref)
    assert len(conn.erp.documents()) == 3
    assert norce.exported_document(se) and norce.exported_document(no)
    assert norce.order_status(se) == "Confirmed"
    assert starweb.exported_document(sw)
    # a later poll finds nothing new: each order was transferred by its own channel's shop
    for shop in ("nc-se", "nc-no"):
        await flow.poll_once(shop)
    await conn.drain(flow)
    assert len(conn.erp.documents()) == 3
