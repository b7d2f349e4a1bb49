"""The Specter simulator's in-memory company: customers, items, stock log, orders, invoices."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from brygga.clock import Clock
from brygga.testing.simulators import SimulatedDocument
from brygga_specter.simulator.wire import instant, money

__all__ = ["VAT_RATES", "SimState", "Stored"]

#: the VAT rates rows may carry (Swedish rates; modelled)
VAT_RATES = frozenset({Decimal(0), Decimal(6), Decimal(12), Decimal(25)})


@dataclass
class Stored:
    """One order or invoice as the simulator keeps it (the wire dict plus its kind)."""

    kind: str  # "order" | "invoice"
    data: dict[str, Any]

    def simulated(self) -> SimulatedDocument:
        net, vat_by_rate = Decimal(0), dict[Decimal, Decimal]()
        for row in self.data["Rows"]:
            gross = Decimal(row["OrderedQuantity"]) * Decimal(row["PriceExVat"])
            amount = money(gross - gross * Decimal(row.get("DiscountPercent", 0)) / 100)
            rate = Decimal(row["VatPercentage"])
            net += amount
            vat_by_rate[rate] = vat_by_rate.get(rate, Decimal(0)) + money(amount * rate / 100)
        vat = sum(vat_by_rate.values(), Decimal(0))
        number = self.data["OrderNo" if self.kind == "order" else "InvoiceNo"]
        return SimulatedDocument(
            number=number,
            reference=self.data["ExternalOrderNo"],
            customer_number=self.data["CustomerId"],
            net=net,
            vat=vat,
            gross=net + vat,
            vat_by_rate=vat_by_rate,
            booked=self.data.get("Status") == "Booked",
        )


@dataclass
class SimState:
    clock: Clock
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    stock_changes: list[dict[str, Any]] = field(default_factory=list)
    orders: dict[str, Stored] = field(default_factory=dict)
    invoices: dict[str, Stored] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._customer_ids = itertools.count(1001)
        self._order_nos = itertools.count(5001)
        self._invoice_nos = itertools.count(70001)
        self._change_ids = itertools.count(1)

    def now(self) -> str:
        return instant(self.clock.now())

    def touch(self, code: str) -> None:
        self.items[code]["Modified"] = self.now()

    def put_item(self, code: str, **fields: Any) -> dict[str, Any]:
        item = self.items.setdefault(
            code,
            {
                "ItemCode": code,
                "Description": code,
                "Currency": "SEK",
                "ShowInWebshop": True,
                "Stocks": [{"StockSiteId": "1", "AvailableStock": 0, "IsDefaultStock": True}],
                "PriceLists": [],
            },
        )
        item.update(fields)
        item["Modified"] = self.now()
        return item

    def set_stock(self, code: str, quantity: Decimal, site: str = "1") -> None:
        stocks = self.items[code]["Stocks"]
        row = next((s for s in stocks if s["StockSiteId"] == site), None)
        if row is None:
            row = {"StockSiteId": site, "AvailableStock": 0, "IsDefaultStock": False}
            stocks.append(row)
        row["AvailableStock"] = quantity
        self.touch(code)
        self.stock_changes.append(
            {"ChangeId": next(self._change_ids), "ItemCode": code, "Changed": self.now()}
        )

    def new_customer(self, body: dict[str, Any]) -> dict[str, Any]:
        customer_id = str(next(self._customer_ids))
        customer = {**body, "CustomerId": customer_id}
        for switch in ("IgnoreControlEmail", "IgnoreControlOrgNo", "ForceCustomerUpdate"):
            customer.pop(switch, None)
        self.customers[customer_id] = customer
        return customer

    def new_document(self, kind: str, body: dict[str, Any]) -> Stored:
        rows = [
            {**row, "OrderedQuantity": row["Quantity"], "DeliveredQuantity": 0}
            for row in body["Rows"]
        ]
        data = {**body, "Rows": rows, "Created": self.now()}
        if kind == "order":
            data.update(OrderNo=str(next(self._order_nos)), Status="Registered")
            stored = self.orders[data["OrderNo"]] = Stored("order", data)
        else:
            booked = bool(body.get("Book"))
            data.update(InvoiceNo=str(next(self._invoice_nos)))
            data["Status"] = "Booked" if booked else "Preliminary"
            stored = self.invoices[data["InvoiceNo"]] = Stored("invoice", data)
            data["RemainingAmount"] = stored.simulated().gross
        data.pop("Book", None)
        return stored

    def next_invoice_no(self) -> str:
        return str(next(self._invoice_nos))

    def documents(self) -> list[Stored]:
        return [*self.invoices.values(), *self.orders.values()]
