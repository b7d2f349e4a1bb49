"""A Tryton (trytond 8.2 JSON-RPC) simulator and its control surface.

Speaks what brygga's adapter needs, as the real server does (see the modules of this package):
session login, model calls with a context, typed values, UserError arrays, parties, products
with templates and categories, taxes, sales with the quote/confirm/process/cancel buttons,
invoices with ``post``, customer shipments and stock moves. Modelled rather than taken from the
server: a plain counter for party codes, sale numbers ("1", "2" …) and invoice numbers
("INV-1" …); the admin user is user 1; no login throttling; ``partially_delivered`` splits the
shipment's first move into a done shipment of its own; record ids are unique across models
(trytond numbers each table on its own), so an id sent for the wrong model fails here.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from decimal import Decimal
from typing import Any

from brygga.clock import Clock, SystemClock
from brygga.models import OrderEvent
from brygga.testing.simulators import Asgi, FaultInjector, SimulatedDocument
from brygga_tryton.simulator.http import RpcApp
from brygga_tryton.simulator.models import Models
from brygga_tryton.simulator.seed import CATALOG, FEE_ARTICLES, seed
from brygga_tryton.simulator.state import Database

__all__ = ["TrytonSimulator"]

DATABASE = "brygga"
LOGIN = "admin"
PASSWORD = "sim-tryton-admin-password"


class TrytonSimulator:
    """The Tryton simulator (``brygga.testing.StatusErpSimulator``); itself an ASGI app."""

    kind = "tryton"

    def __init__(
        self,
        *,
        faults: FaultInjector | None = None,
        clock: Clock | None = None,
        database: str = DATABASE,
        login: str = LOGIN,
        password: str = PASSWORD,
        seed_catalog: bool = True,
    ) -> None:
        self.faults = faults if faults is not None else FaultInjector()
        self.db = Database(clock=clock or SystemClock())
        self.ids = seed(self.db)
        self.models = Models(self.db, self.ids)
        self.database, self.login, self.password = database, login, password
        self.rpc = RpcApp(
            self.models, self.faults, database=database, login=login, password=password
        )
        if seed_catalog:
            for sku, name, price, rate, stock in (*FEE_ARTICLES, *CATALOG):
                self.add_article(sku, name, price, rate, stock=stock)

    @property
    def app(self) -> Asgi:
        return self.rpc

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(HTTP method, path + RPC method) of every request, in order."""
        return self.rpc.requests

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        await self.rpc(scope, receive, send)

    def set_password(self, password: str) -> None:
        """The user's new password: a login with the old one is answered 401 from now on
        (sessions already open stay, until :meth:`end_sessions`)."""
        self.password = self.rpc.password = password

    def end_sessions(self) -> None:
        """Forget every session (expired, or a server restart): calls with one get 401."""
        self.rpc.sessions.clear()

    def adapter_config(self, base_url: str) -> dict[str, Any]:
        return {
            "kind": "tryton",
            "base_url": base_url,
            "database": self.database,
            "login": self.login,
            "password": self.password,
        }

    # --- catalog ---------------------------------------------------------------------------

    def add_article(
        self, sku: str, name: str, price: Decimal, vat_rate: Decimal, *, stock: Decimal = Decimal(0)
    ) -> None:
        """Create the article (template + variant with code ``sku``) in the category of its
        VAT rate, or update its name and price; ``stock`` put in the warehouse."""
        rate = Decimal(vat_rate).normalize()
        category = next(
            (c for r, c in self.ids["category"].items() if Decimal(r).normalize() == rate), None
        )
        if category is None:
            tax = self.db.insert(
                "account.tax",
                {
                    "name": f"Moms {rate} %",
                    "type": "percentage",
                    "rate": rate / 100,
                    "parent": None,
                },
            )
            category = self.db.insert("product.category", {"customer_taxes_used": [tax]})
            self.ids["category"][rate] = category
        existing = self.db.search("product.template", [["code", "=", sku]])
        if existing:
            self.db.update(
                "product.template",
                existing[0],
                name=name,
                list_price=price,
                account_category=category,
            )
            return
        self.models.call(
            "product.template",
            "create",
            [
                [
                    {
                        "name": name,
                        "code": sku,
                        "type": "goods" if price else "service",
                        "list_price": price,
                        "default_uom": self.ids["unit"],
                        "sale_uom": self.ids["unit"],
                        "salable": True,
                        "account_category": category,
                        "products": [["create", [{}]]],
                    }
                ]
            ],
            {},
        )
        if stock:
            self.set_stock(sku, stock)

    def product_id(self, sku: str) -> int:
        template = self.db.search("product.template", [["code", "=", sku]])[0]
        return int(self.db.get("product.template", template)["products"][0])

    def set_stock(self, sku: str, quantity: Decimal) -> None:
        """Add an inventory move so that the warehouse holds ``quantity`` more of ``sku``."""
        move = self.db.insert(
            "stock.move",
            {
                "product": self.product_id(sku),
                "quantity": float(quantity),
                "from_location": self.ids["lost_found"],
                "to_location": self.ids["storage"],
                "state": "done",
            },
        )
        del move

    # --- documents -------------------------------------------------------------------------

    def _sales(self, reference: str | None = None) -> list[dict[str, Any]]:
        rows = sorted(self.db.table("sale.sale").values(), key=lambda s: s["id"])
        return [s for s in rows if reference is None or s.get("reference") == reference]

    def _document(self, sale: dict[str, Any]) -> SimulatedDocument:
        net, vat, by_rate = self.models.sale_totals(sale)
        party = self.db.get("party.party", sale["party"])
        return SimulatedDocument(
            number=sale.get("number") or f"#{sale['id']}",
            reference=sale.get("reference") or "",
            customer_number=str(party.get("code") or ""),
            net=net,
            vat=vat,
            gross=net + vat,
            vat_by_rate=by_rate,
            booked=sale["state"] in ("confirmed", "processing", "done"),
        )

    def documents(self) -> list[SimulatedDocument]:
        return [self._document(s) for s in self._sales()]

    def documents_with_reference(self, reference: str) -> list[SimulatedDocument]:
        return [self._document(s) for s in self._sales(reference)]

    def sale(self, reference: str) -> dict[str, Any]:
        """The stored sale (a live dict) with ``reference``; KeyError when there is none."""
        sales = self._sales(reference)
        if not sales:
            raise KeyError(reference)
        return sales[0]

    # --- what a person does in Tryton ------------------------------------------------------

    def order_event(self, reference: str, event: OrderEvent) -> None:
        sales = self._sales(reference)
        if not sales:
            raise ValueError(f"no sale with reference {reference!r}")
        for sale in sales:
            self._event(sale, event)

    def _event(self, sale: dict[str, Any], event: OrderEvent) -> None:
        sale_id = sale["id"]
        if event == OrderEvent.CANCELLED:
            if sale["state"] not in ("draft", "quotation"):
                raise ValueError(f"sale {sale_id} is {sale['state']}: Tryton cannot cancel it")
            self.models.call("sale.sale", "cancel", [[sale_id]], {})
            return
        if sale["state"] in ("draft", "quotation"):
            if sale["state"] == "draft":
                self.models.call("sale.sale", "quote", [[sale_id]], {})
            self.models.call("sale.sale", "confirm", [[sale_id]], {})
        if event in (OrderEvent.INVOICED, OrderEvent.PAID):
            self.models.call("account.invoice", "post", [sale["invoices"]], {})
            if event == OrderEvent.PAID:
                for invoice in sale["invoices"]:
                    self.db.update("account.invoice", invoice, state="paid")
                sale["invoice_state"] = "paid"
            return
        if event == OrderEvent.DELIVERED:
            for shipment in sale["shipments"]:
                self._ship(shipment)
            sale["shipment_state"] = "sent"
            return
        if event == OrderEvent.PARTIALLY_DELIVERED:
            waiting = [
                s
                for s in sale["shipments"]
                if self.db.get("stock.shipment.out", s)["state"] != "done"
            ]
            if not waiting:
                raise ValueError(f"sale {sale_id} has nothing left to ship")
            first = self.db.get("stock.shipment.out", waiting[0])
            if len(first["moves"]) < 2:
                raise ValueError(f"sale {sale_id}: one move cannot be shipped in part")
            move = first["moves"].pop(0)
            part = self.db.insert(
                "stock.shipment.out", {"state": "waiting", "moves": [move], "sale": sale_id}
            )
            sale["shipments"].append(part)
            self._ship(part)
            sale["shipment_state"] = "partially shipped"
            return
        raise ValueError(f"Tryton has no state for {event.value}")

    def _ship(self, shipment: int) -> None:
        record = self.db.get("stock.shipment.out", shipment)
        for move in record["moves"]:
            self.db.update("stock.move", move, state="done")
        self.db.update("stock.shipment.out", shipment, state="done", number=f"CS{shipment}")
