"""A real daemon (in-process, HTTP on loopback) with a Norce shop: Norce pushes an order to the
daemon's receiver, which keeps it and wakes the poll; with an hour between polls, only the push
explains the e-conomic document appearing within seconds (shop-apis.md §4.3, [NO3])."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from brygga.commands.common import load
from brygga.commands.run import serve
from brygga.config import ResolvedConnection
from brygga.http.client import HttpContext
from brygga.plugins import PluginHost
from brygga.runtime.daemon import DaemonControl
from brygga.sync.orders import document_reference
from brygga.testing import RoutingTransport, write_config
from brygga_economic.simulator import EconomicSimulator
from brygga_norce.simulator import NorceSimulator

pytestmark = pytest.mark.anyio

TOKEN = "norce-daemon-0123456789abcdefg"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_push_is_kept_and_transferred_by_a_running_daemon(tmp_path: Path) -> None:
    shop, erp = NorceSimulator(), EconomicSimulator()
    path = write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        name="demo",
        erp=erp.adapter_config("http://erp.test"),
        shops=[
            {
                **shop.adapter_config("http://norce.test", name="nc"),
                "webhook_token": TOKEN,
                "receiver_username": "norce",
                "receiver_password": "receiver-pw-1",
            }
        ],
        connection={
            "registers": {"products": "off", "prices": "off", "stock": "off", "price_lists": "off"},
            "poll": {"orders": "1h"},
        },
    )
    loaded, host = load(path, PluginHost())
    http = HttpContext(transport=RoutingTransport({"norce.test": shop.app, "erp.test": erp.app}))
    control: DaemonControl[ResolvedConnection] = DaemonControl()
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: serve(loaded, host, control=control, http=http, handle_os_signals=False)
        )
        await control.wait_started()
        with anyio.fail_after(10):  # the first poll runs at start
            while not any("Orders/Orders" in p for _, p in shop.requests):  # noqa: ASYNC110
                await anyio.sleep(0.05)
        await anyio.sleep(0.2)
        order = shop.place_order(lines=[("KAFFE-500", 1)], email="a@example.se")
        reference = document_reference("demo", "nc", order)
        url = f"http://127.0.0.1:{control.port}/webhooks/demo/{TOKEN}"
        async with httpx.AsyncClient() as client:
            shop.configure_receiver(url, username="norce", password="wrong")
            assert (await shop.push_pending(client))[0].status == 400
            shop.configure_receiver(url, username="norce", password="receiver-pw-1")
            assert (await shop.push_pending(client))[0].status == 200
            assert shop.pending == []
        with anyio.fail_after(15):
            while not shop.exported_document(order):  # noqa: ASYNC110
                await anyio.sleep(0.05)
        control.request_stop()
    assert len(erp.documents_with_reference(reference)) == 1
    assert shop.order_status(order) == "Confirmed"
