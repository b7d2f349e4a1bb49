"""One connection, one ERP, three kinds of shop: Starweb, PrestaShop and Norce Commerce (issue
[6/9]: "a multishop connection mixing Starweb, PrestaShop and Norce shops on one ERP").

Each order is in the ERP once under its own shop's reference, each shop gets its own document
number back, and the ERP's events go back to the shop the order came from, in that shop's own
status names (``[connection.status.shops.<shop>]``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from brygga.http.app import WebhookRegistry, create_app
from brygga.http.client import HttpContext
from brygga.metrics import Metrics
from brygga.models import OrderEvent
from brygga.plugins import PluginHost
from brygga.runtime.actor import _register_webhooks
from brygga.store import ItemState
from brygga.sync.references import document_reference
from brygga.sync.status import STATUS, WATCH
from brygga.sync.wiring import load_checked
from brygga.sync.writeback import WRITEBACK
from brygga.testing import RoutingTransport, SimulatedConnection, write_config
from brygga_economic.simulator import EconomicSimulator
from brygga_norce.simulator import NorceSimulator
from brygga_prestashop.simulator import PrestashopSimulator
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

TOKEN = "mixed-receiver-0123456789abcdef"
FAST = {"requests": 1_000, "per_seconds": 0.05}
OFF = {"products": "off", "prices": "off", "stock": "off", "price_lists": "off"}
STATUS_RULES: dict[str, Any] = {
    "invoiced": {"shop_status": "completed", "email": True, "capture": True},
    "shops": {
        "dk": {"invoiced": {"shop_status": "shipped", "email": True}},
        "nc": {"invoiced": {"shop_status": "Invoiced"}},
    },
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the store needs asyncio


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Any]:
    starweb, presta, norce = StarwebSimulator(seed=3), PrestashopSimulator(), NorceSimulator()
    erp = EconomicSimulator()
    limit = {"rate_limit": FAST}
    shops = [
        {**starweb.adapter_config("http://sw.test/api/v2", name="se"), **limit},
        {**presta.adapter_config("http://ps.test", name="dk"), **limit},
        {**norce.adapter_config("http://nc.test", name="nc"), **limit, "webhook_token": TOKEN},
    ]
    path = write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        name="mixed",
        erp={**erp.adapter_config("http://erp.test"), **limit},
        shops=shops,
        connection={"mode": "erp", "registers": OFF},
        sections={"orders": {"overlap": "5m", "lookback": "1h"}, "status": STATUS_RULES},
    )
    loaded = load_checked(path, PluginHost())
    apps = {"sw.test": starweb.app, "ps.test": presta.app, "nc.test": norce.app}
    http = HttpContext(transport=RoutingTransport({**apps, "erp.test": erp.app}))
    opened = await SimulatedConnection.attach(shop=starweb, erp=erp, loaded=loaded, http=http)
    try:
        yield opened, starweb, presta, norce
    finally:
        await opened.close()


async def _push(conn: SimulatedConnection, flow: Any, norce: NorceSimulator) -> None:
    """Norce pushes its orders to the daemon's receiver (as runtime/actor.py wires it)."""
    registry = WebhookRegistry()
    _register_webhooks(conn.loaded.connections[0], flow, registry)
    app = create_app(Metrics(), webhooks=registry)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as daemon:
        norce.configure_receiver(f"http://daemon/webhooks/mixed/{TOKEN}")
        assert {a.status for a in await norce.push_pending(daemon)} == {200}


async def test_starweb_prestashop_and_norce_on_one_erp(env: Any) -> None:
    conn, starweb, presta, norce = env
    # the same order number may exist in two shops; the references keep them apart
    orders = {
        "se": starweb.place_order(lines=[("KAFFE-500", 1)], email="anna@example.se"),
        "dk": presta.place_order(lines=[(presta.catalog_skus()[0], 2)], email="bo@example.dk"),
        "nc": norce.place_order(lines=[(norce.catalog_skus()[0], 1)], email="ola@example.no"),
    }
    flow = conn.flow()
    await _push(conn, flow, norce)
    for shop in orders:
        assert await flow.poll_once(shop) == 1, shop
    assert await conn.drain(flow) == [ItemState.DONE] * 3
    await conn.drain(flow, WRITEBACK)

    numbers = {}
    for shop, order in orders.items():
        (document,) = conn.erp.documents_with_reference(document_reference("mixed", shop, order))
        numbers[shop] = document.number
    assert len(conn.erp.documents()) == 3
    assert starweb.exported_document(orders["se"]) == numbers["se"]
    assert presta.exported_document(orders["dk"]) == numbers["dk"]
    assert norce.exported_document(orders["nc"]) == numbers["nc"]

    # polling again transfers nothing twice
    for shop in orders:
        await flow.poll_once(shop)
    await conn.drain(flow)
    assert len(conn.erp.documents()) == 3

    # the invoices are booked: each shop hears it in its own words
    for shop, order in orders.items():
        conn.erp.order_event(document_reference("mixed", shop, order), OrderEvent.INVOICED)
    await conn.store.db.execute(
        "UPDATE work_items SET next_attempt = '2000-01-01T00:00:00.000000Z'"
        " WHERE register = ? AND state = 'waiting'",
        (WATCH,),
    )
    await flow.engine.drain(WATCH, batch=50)
    assert await conn.drain(flow, STATUS) == [ItemState.DONE] * 3
    assert starweb.order_status(orders["se"]) == "completed"
    (change,) = starweb.status_changes(orders["se"])
    assert change.payment_action == "captured"
    assert presta.order_status(orders["dk"]) == "shipped"
    assert presta.histories(orders["dk"])[-1].sendemail
    assert norce.order_status(orders["nc"]) == "Invoiced"
