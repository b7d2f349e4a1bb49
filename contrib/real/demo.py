"""Watch brygga between a real Vendure shop and a real Tryton ERP (both started here).

    .venv/bin/python contrib/real/demo.py [--orders N] [--interval S] [--exit-when-done]

Installs (cached) and starts trytond and Vendure on loopback, gives Tryton the seeded Vendure
catalog, then runs the daemon between them in this process. A checkout is placed through
Vendure's Shop API every --interval seconds; each order's line says when it is a Tryton sale,
when a simulated warehouse ships it in Tryton, and when Vendure shows it Shipped. Ctrl-C stops
everything. Exit code 0 with --exit-when-done once every order came back Shipped, 1 if not
within --timeout, 2 when a server cannot be installed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parents[2]
sys.path.append(str(ROOT / "tests" / "real" / "vendure"))  # the Vendure test kit

from vendure_server import (  # noqa: E402
    VendureUnavailable,
    order,
    place_checkout,
    vendure_server,
)

from brygga.commands.common import load  # noqa: E402
from brygga.commands.run import serve  # noqa: E402
from brygga.http.client import HttpContext  # noqa: E402
from brygga.runtime.daemon import DaemonControl  # noqa: E402
from brygga.sync.references import document_reference  # noqa: E402
from brygga.testing import write_config  # noqa: E402
from brygga_tryton.realserver import TrytonUnavailable, running_tryton  # noqa: E402

#: the seeded Vendure catalog (contrib/real/vendure/products.csv), excl. VAT
CATALOG = (
    ("WIDGET-1", "Widget", Decimal("125.00"), Decimal(25)),
    ("GADGET-S", "Gadget S", Decimal("200.00"), Decimal(25)),
    ("COFFEE-500", "Coffee", Decimal("89.00"), Decimal(12)),
)
BASKETS = ([("WIDGET-1", 2)], [("GADGET-S", 1)], [("COFFEE-500", 3), ("WIDGET-1", 1)])


def _say(text: str) -> None:
    print(text, flush=True)


async def _order_life(admin: object, shop: object, number: int, done: list[int]) -> None:
    placed = await place_checkout(shop, BASKETS[number % len(BASKETS)])  # type: ignore[arg-type]
    reference = document_reference("real", "vendure", placed.id)
    _say(f"order {placed.code}: placed in Vendure ({placed.state})")
    while True:
        found = await admin.search_read(  # type: ignore[attr-defined]
            "sale.sale", [["reference", "=", reference]], ["invoices"]
        )
        if found and found[0]["invoices"]:  # a processed sale, with its invoice
            break
        await anyio.sleep(0.5)
    sale = await admin.sale_by_reference(reference)  # type: ignore[attr-defined]
    _say(f"order {placed.code}: Tryton sale {sale['number']} with its invoice")
    await anyio.sleep(2)
    await admin.ship(reference)  # type: ignore[attr-defined]
    _say(f"order {placed.code}: shipped from Tryton's warehouse")
    while (await order(shop, placed.id))["state"] != "Shipped":  # type: ignore[arg-type]
        await anyio.sleep(0.5)
    _say(f"order {placed.code}: Shipped in Vendure, payment settled")
    done.append(number)


async def _run(args: argparse.Namespace) -> int:
    async with running_tryton() as tryton, vendure_server() as shop:
        admin = tryton.admin
        await admin.create_fee_articles()
        for sku, name, price, vat in CATALOG:
            product = await admin.create_product(sku, name, price, vat=vat)
            await admin.add_stock(product, Decimal(100))
        folder = Path(tempfile.mkdtemp(prefix="brygga-real-demo-"))
        path = write_config(
            folder / "brygga.toml",
            state=str(folder / "state.db"),
            name="real",
            erp=tryton.adapter_config(),
            shops=[
                {
                    "kind": "vendure",
                    "name": "vendure",
                    "base_url": shop.admin_url,
                    "username": shop.superadmin,
                    "password": shop.password,
                }
            ],
            connection={
                "mode": "erp",
                "registers": {"products": "off", "prices": "off", "price_lists": "off"},
                "poll": {"orders": "1s", "status": "1s", "stock": "2s"},
            },
            sections={
                "orders": {
                    "document": "invoice",
                    "ready_statuses": ["PaymentAuthorized", "PaymentSettled"],
                    "cancelled_statuses": ["Cancelled"],
                },
                "status": {
                    "delivered": {"shop_status": "Shipped", "capture": True, "tracking": True}
                },
            },
        )
        _say(f"Tryton  {tryton.url} (database {tryton.database}, {tryton.login})")
        _say(f"Vendure {shop.admin_url} ({shop.superadmin} / {shop.password})")
        _say(f"config  {path}")
        loaded, host = load(path)
        control: DaemonControl[object] = DaemonControl()
        done: list[int] = []
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                lambda: serve(
                    loaded, host, control=control, http=HttpContext(), handle_os_signals=False
                )
            )
            await control.wait_started()
            with anyio.move_on_after(args.timeout if args.exit_when_done else float("inf")):
                number = 0
                while not args.orders or number < args.orders:
                    tg.start_soon(_order_life, admin, shop, number, done)
                    number += 1
                    await anyio.sleep(args.interval)
                while args.exit_when_done and len(done) < number:
                    await anyio.sleep(0.5)
                if not args.exit_when_done:
                    await anyio.sleep_forever()
            control.request_stop()
            tg.cancel_scope.cancel()
        if args.exit_when_done and len(done) < (args.orders or 0):
            _say(f"error: {len(done)} of {args.orders} orders came back Shipped in time")
            return 1
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=0, help="how many (0 = until Ctrl-C)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between orders")
    parser.add_argument("--exit-when-done", action="store_true")
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    try:
        return anyio.run(_run, args)
    except (TrytonUnavailable, VendureUnavailable) as exc:
        print(f"a real server is unavailable: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
