"""A shop's webhook makes the daemon look at once; a wrong token does nothing at all."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from brygga.commands.common import load
from brygga.commands.run import serve
from brygga.config import ResolvedConnection
from brygga.errors import ConfigError
from brygga.http.client import HttpContext
from brygga.models import OrderEvent
from brygga.runtime.daemon import DaemonControl
from brygga.sync.orders import document_reference
from brygga.testing import RoutingTransport, write_config
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

TOKEN = "wh-0123456789abcdefghijklmnop"


def _config(tmp_path: Path, shop: StarwebSimulator, erp: EconomicSimulator, token: str) -> Path:
    return write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        name="demo",
        erp=erp.adapter_config("http://erp.test"),
        shops=[
            {**shop.adapter_config("http://shop.test/api/v2", name="se"), "webhook_token": token}
        ],
        connection={"registers": {"price_lists": "off"}, "poll": {"orders": "1h"}},
    )


async def test_webhook_triggers_an_immediate_poll_and_bad_tokens_do_nothing(
    tmp_path: Path,
) -> None:
    shop, erp = StarwebSimulator(), EconomicSimulator()
    loaded, host = load(_config(tmp_path, shop, erp, TOKEN))
    http = HttpContext(transport=RoutingTransport({"shop.test": shop.app, "erp.test": erp.app}))
    control: DaemonControl[ResolvedConnection] = DaemonControl()
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: serve(loaded, host, control=control, http=http, handle_os_signals=False)
        )
        await control.wait_started()
        with anyio.fail_after(10):  # the first poll runs at start
            while not any(p.startswith("/orders") for _, p in shop.requests):  # noqa: ASYNC110
                await anyio.sleep(0.05)
        await anyio.sleep(0.2)
        order = shop.place_order(lines=[("KAFFE-500", 1)], email="a@example.se")
        reference = document_reference("demo", "se", order)
        base = f"http://127.0.0.1:{control.port}/webhooks/demo"

        def order_reads() -> int:
            # what a poll does (the catalog flows may still be writing the ERP's articles to
            # the shop at this point: not the webhook's doing)
            return sum(1 for _, p in shop.requests if p.startswith("/orders"))

        async with httpx.AsyncClient() as client:
            before = order_reads()
            for wrong in (TOKEN[:-1] + "x", "", TOKEN + "x", "x" * len(TOKEN)):
                answer = await client.post(f"{base}/{wrong}", json={"orderId": int(order)})
                assert answer.status_code == 404
            await anyio.sleep(0.5)
            assert order_reads() == before  # no poll, no order read
            assert erp.documents_with_reference(reference) == []
            answer = await client.post(f"{base}/{TOKEN}", json={"event": "order-created"})
            assert answer.status_code == 200
        with anyio.fail_after(15):  # an hour-long poll interval: only the webhook explains it
            while not erp.documents_with_reference(reference):  # noqa: ASYNC110
                await anyio.sleep(0.05)
        control.request_stop()


def test_short_or_misplaced_webhook_tokens_are_config_errors(tmp_path: Path) -> None:
    shop, erp = StarwebSimulator(), EconomicSimulator()
    with pytest.raises(ConfigError, match=r"shops\[0\]\.webhook_token: too short"):
        load(_config(tmp_path, shop, erp, "short"))
    path = write_config(
        tmp_path / "b.toml",
        state="s.db",
        erp={**erp.adapter_config("http://erp.test"), "webhook_token": "short"},
        shops=[shop.adapter_config("http://shop.test/api/v2", name="se")],
        connection={"registers": {"price_lists": "off"}},
    )
    with pytest.raises(ConfigError, match=r"\.erp\.webhook_token: too short"):
        load(path)


ERP_TOKEN = "erp-0123456789abcdefghijklmnop"


async def test_an_erp_webhook_makes_the_watched_documents_looked_at_now(tmp_path: Path) -> None:
    """e-conomic's "Invoice booked" web hook (reference/erp-apis.md §1.8) is a hint: with an
    hour between looks at the watched documents, only the notice explains the shop's status
    following the booking within seconds; its body is not read."""
    shop, erp = StarwebSimulator(), EconomicSimulator()
    path = write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        name="demo",
        erp={**erp.adapter_config("http://erp.test"), "webhook_token": ERP_TOKEN},
        shops=[shop.adapter_config("http://shop.test/api/v2", name="se")],
        connection={
            "registers": {"price_lists": "off"},
            "poll": {"orders": "1s", "status": "1h"},
        },
        sections={"status": {"invoiced": {"shop_status": "completed"}}},
    )
    loaded, host = load(path)
    http = HttpContext(transport=RoutingTransport({"shop.test": shop.app, "erp.test": erp.app}))
    control: DaemonControl[ResolvedConnection] = DaemonControl()
    order = shop.place_order(lines=[("KAFFE-500", 1)], email="a@example.se")
    reference = document_reference("demo", "se", order)
    async with anyio.create_task_group() as tg:
        tg.start_soon(
            lambda: serve(loaded, host, control=control, http=http, handle_os_signals=False)
        )
        await control.wait_started()
        with anyio.fail_after(15):
            while not erp.documents_with_reference(reference):  # noqa: ASYNC110
                await anyio.sleep(0.05)
        await anyio.sleep(1.0)  # the first look at the new document is over
        erp.order_event(reference, OrderEvent.INVOICED)
        await anyio.sleep(1.0)
        assert shop.order_status(order) != "completed"  # the next look is an hour away
        base = f"http://127.0.0.1:{control.port}/webhooks/demo"
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"{base}/{ERP_TOKEN}x", content=b"{}")
            assert answer.status_code == 404
            answer = await client.post(f"{base}/{ERP_TOKEN}", content=b"not read at all")
            assert answer.status_code == 200
        with anyio.fail_after(15):
            while shop.order_status(order) != "completed":  # noqa: ASYNC110
                await anyio.sleep(0.05)
        control.request_stop()
