"""The Hogia simulator's in-memory company: contacts, articles, invoices and the API database."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from brygga.clock import Clock
from brygga.testing.simulators import SimulatedDocument
from brygga_hogia.simulator.wire import instant, money, parse_instant

__all__ = ["VAT_RATES", "SimState", "totals"]

VAT_RATES = frozenset({Decimal(0), Decimal(6), Decimal(12), Decimal(25)})


def totals(invoice: dict[str, Any]) -> tuple[Decimal, dict[Decimal, Decimal]]:
    """(net, VAT per rate) of an invoice, rounded per row."""
    net, vat_by_rate = Decimal(0), dict[Decimal, Decimal]()
    for line in invoice["invoiceLines"]:
        gross = Decimal(line["quantity"]) * Decimal(line["unitPrice"])
        amount = money(gross - gross * Decimal(line.get("discountPercent", 0)) / 100)
        rate = Decimal(line["vat"])
        net += amount
        vat_by_rate[rate] = vat_by_rate.get(rate, Decimal(0)) + money(amount * rate / 100)
    return net, vat_by_rate


def reference_of(invoice: dict[str, Any]) -> str:
    for ref in invoice.get("customerInvoiceReferences", []):
        if isinstance(ref, dict) and ref.get("referenceType") == "External":
            return str(ref.get("value", ""))
    return ""


@dataclass
class SimState:
    clock: Clock
    #: seconds before a change in Hogia Smart lands in the API database
    lag: float = 60.0
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    articles: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._contact_numbers = itertools.count(1)
        self._invoice_ids = itertools.count(1)
        self._invoice_numbers = itertools.count(1001)
        self._sequence = itertools.count(1)

    def log(self, entity: str, key: str, source: str = "erp") -> None:
        """A change in Hogia Smart: it lands in the API database ``lag`` seconds later."""
        now = self.clock.now()
        self.changes.append(
            {
                "sequenceId": next(self._sequence),
                "entity": entity,
                "key": key,
                "source": source,
                "changedDate": instant(now),
                "loggedDate": instant(now + timedelta(seconds=self.lag)),
            }
        )

    def landed(self) -> list[dict[str, Any]]:
        """The API database: the changes that have landed by now."""
        now = self.clock.now()
        return [c for c in self.changes if (parse_instant(c["loggedDate"]) or now) <= now]

    def put_article(self, number: str, **fields: Any) -> dict[str, Any]:
        article = self.articles.setdefault(
            number,
            {
                "articleNumber": number,
                "name": number,
                "sendToWebshop": True,
                "stockBalance": Decimal(0),
            },
        )
        article.update(fields)
        article["updatedDate"] = instant(self.clock.now())
        self.log("article", number)
        return article

    def set_stock(self, number: str, quantity: Decimal, source: str) -> None:
        article = self.articles[number]
        article.update(stockBalance=quantity, updatedDate=instant(self.clock.now()))
        self.log("stock", number, source)

    def new_contact(self, body: dict[str, Any]) -> dict[str, Any]:
        number = str(next(self._contact_numbers))
        contact = {**body, "number": number, "contactTypes": ["Customer"]}
        self.contacts[number] = contact
        return contact

    def new_invoice(self, body: dict[str, Any]) -> dict[str, Any]:
        invoice_id = f"00000000-0000-4000-8000-{next(self._invoice_ids):012d}"
        invoice = {**body, "customerInvoiceId": invoice_id}
        bill = bool(invoice.pop("bill", False))
        net, vat = totals(invoice)
        gross = net + sum(vat.values(), Decimal(0))
        invoice.update(
            customerInvoiceState="Draft",
            isBilled=False,
            isCustomerPaid=False,
            isCanceled=False,
            amountLeftToPay=gross,
        )
        self.invoices[invoice_id] = invoice
        if bill:
            self.bill(invoice)
        return invoice

    def bill(self, invoice: dict[str, Any]) -> None:
        if not invoice["isBilled"]:
            invoice.update(
                isBilled=True,
                customerInvoiceState="Billed",
                invoiceNumber=next(self._invoice_numbers),
            )

    def simulated(self, invoice: dict[str, Any]) -> SimulatedDocument:
        net, vat_by_rate = totals(invoice)
        vat = sum(vat_by_rate.values(), Decimal(0))
        return SimulatedDocument(
            number=invoice["customerInvoiceId"],
            reference=reference_of(invoice),
            customer_number=str(invoice["customerNumber"]),
            net=net,
            vat=vat,
            gross=net + vat,
            vat_by_rate=vat_by_rate,
            booked=invoice["isBilled"],
        )
