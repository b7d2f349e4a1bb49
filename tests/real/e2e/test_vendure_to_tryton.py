"""Software nobody here wrote, end to end: a real Vendure shop and a real Tryton ERP, the
daemon between them (issue [8/9]).

A checkout placed through Vendure's Shop API becomes one Tryton sale with its invoice (and
stays one over further polls); shipping it in Tryton moves the Vendure order to Shipped with
its payment settled; a stock change in Tryton reaches Vendure. Both servers are started by the
test on loopback (Tryton: pinned trytond on SQLite; Vendure: pinned @vendure/core on sql.js);
the test is skipped, with the reason, only when they cannot be installed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest
from vendure_server import VendureUnavailable, order, place_checkout, variant, vendure_server

from brygga.commands.common import load
from brygga.commands.run import serve
from brygga.config import ResolvedConnection
from brygga.http.client import HttpContext
from brygga.runtime.daemon import DaemonControl
from brygga.sync.references import document_reference
from brygga.testing import write_config
from brygga_tryton.realserver import TrytonServer, TrytonUnavailable, running_tryton

pytestmark = [pytest.mark.anyio, pytest.mark.real]

#: the seeded Vendure catalog (contrib/real/vendure/products.csv), excl. VAT: prices whose VAT
#: is no half öre, so Tryton's half-even rounding and the shop's agree
CATALOG = (("WIDGET-1", "Widget", Decimal("125.00"), Decimal(25)),)
CONNECTION = "e2e"
SHOP = "vendure"


async def _until(what: str, check: Callable[[], Awaitable[bool]], seconds: float = 60) -> None:
    with anyio.move_on_after(seconds):
        while not await check():  # noqa: ASYNC110 (polling a remote server)
            await anyio.sleep(0.25)
        return
    raise AssertionError(f"{what} did not happen within {seconds:g} s")


def _config(tmp_path: Path, tryton: TrytonServer, shop: Any) -> Path:
    return write_config(
        tmp_path / "brygga.toml",
        state=str(tmp_path / "state.db"),
        name=CONNECTION,
        erp=tryton.adapter_config(),
        shops=[
            {
                "kind": "vendure",
                "name": SHOP,
                "base_url": shop.admin_url,
                "username": shop.superadmin,
                "password": shop.password,
            }
        ],
        connection={
            "mode": "erp",
            "registers": {"products": "off", "prices": "off", "price_lists": "off"},
            "poll": {"orders": "1s", "status": "1s", "stock": "1s"},
        },
        sections={
            "orders": {
                "document": "invoice",
                "ready_statuses": ["PaymentAuthorized", "PaymentSettled"],
                "cancelled_statuses": ["Cancelled"],
            },
            "status": {"delivered": {"shop_status": "Shipped", "capture": True, "tracking": True}},
        },
    )


async def test_a_vendure_checkout_becomes_one_tryton_sale_and_comes_back_shipped(
    tmp_path: Path,
) -> None:
    try:
        async with running_tryton() as tryton, vendure_server() as shop:
            admin = tryton.admin
            await admin.create_fee_articles()
            for sku, name, price, vat in CATALOG:
                await admin.create_product(sku, name, price, vat=vat)
            coffee = await admin.create_product(
                "COFFEE-500", "Coffee", Decimal("89.00"), vat=Decimal(12)
            )
            loaded, host = load(_config(tmp_path, tryton, shop))
            control: DaemonControl[ResolvedConnection] = DaemonControl()
            async with anyio.create_task_group() as tg:
                tg.start_soon(
                    lambda: serve(
                        loaded, host, control=control, http=HttpContext(), handle_os_signals=False
                    )
                )
                await control.wait_started()
                placed = await place_checkout(shop, [("WIDGET-1", 2)], email="anna@example.se")
                reference = document_reference(CONNECTION, SHOP, placed.id)

                async def invoiced_sale() -> bool:
                    found = await admin.search_read(
                        "sale.sale", [["reference", "=", reference]], ["invoices"]
                    )
                    # the invoice document is a processed sale, with its invoice
                    return len(found) == 1 and bool(found[0]["invoices"])

                await _until("the sale and its invoice in Tryton", invoiced_sale)
                await anyio.sleep(3)  # more polls: still one sale
                sales = await admin.search_read(
                    "sale.sale", [["reference", "like", f"%{placed.id}%"]], ["reference"]
                )
                assert [s["reference"] for s in sales] == [reference]

                await admin.ship(reference)

                async def shipped() -> bool:
                    return str((await order(shop, placed.id))["state"]) == "Shipped"

                await _until("the Vendure order Shipped", shipped)
                seen = await order(shop, placed.id)
                assert [p["state"] for p in seen["payments"]] == ["Settled"]
                assert len(seen["fulfillments"]) == 1

                await admin.add_stock(coffee, Decimal(7))

                async def coffee_stock() -> bool:
                    level = await variant(shop, "COFFEE-500")
                    return int(level["stockOnHand"]) - int(level["stockAllocated"]) == 7

                await _until("Tryton's stock in Vendure", coffee_stock)
                control.request_stop()
    except (TrytonUnavailable, VendureUnavailable) as exc:
        pytest.skip(f"a real server is unavailable: {exc}")
