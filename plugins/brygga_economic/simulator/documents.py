"""Sales documents of the e-conomic simulator: draft/booked invoices, draft/sent/archived orders."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import unquote

from brygga.documents import round_money
from brygga.testing.simulators import SimulatedDocument
from brygga_economic.simulator.errors import (
    BAD_VALUE,
    DUPLICATE,
    NO_PRODUCT_ID,
    NO_QUANTITY,
    NOT_FOUND,
    PRICE_SCALE,
    REQUIRED,
    Annotations,
)
from brygga_economic.simulator.state import Path, SimState, find_nulls, is_number
from brygga_economic.simulator.wire import decode_id, encode_id

__all__ = ["DocumentKind", "Documents", "StoredDocument"]

DocumentKind = Literal[
    "draft_invoice", "booked_invoice", "draft_order", "sent_order", "archived_order"
]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZERO = Decimal("0.00")


@dataclass
class StoredDocument:
    kind: DocumentKind
    number: int
    body: dict[str, Any]
    vat_by_rate: dict[Decimal, Decimal]

    def simulated(self) -> SimulatedDocument:
        body = self.body
        return SimulatedDocument(
            number=str(self.number),
            reference=str(body.get("references", {}).get("other", "")),
            customer_number=str(body["customer"]["customerNumber"]),
            net=body["netAmount"],
            vat=body["vatAmount"],
            gross=body["grossAmount"],
            vat_by_rate=dict(self.vat_by_rate),
            booked=self.kind in ("booked_invoice", "sent_order", "archived_order"),
        )


@dataclass
class Documents:
    """The document collections and the rules for creating, booking and sending (what a
    person does to them in e-conomic: :mod:`brygga_economic.simulator.events`)."""

    state: SimState
    draft_invoices: dict[int, StoredDocument] = field(default_factory=dict)
    booked_invoices: dict[int, StoredDocument] = field(default_factory=dict)
    draft_orders: dict[int, StoredDocument] = field(default_factory=dict)
    sent_orders: dict[int, StoredDocument] = field(default_factory=dict)
    #: orders registered as sent and then upgraded to an invoice draft
    archived_orders: dict[int, StoredDocument] = field(default_factory=dict)
    #: booked numbers start far from draft numbers so a mix-up shows in tests
    first_booked_number: int = 10001
    _next_draft: int = 1
    _next_order: int = 1

    def all(self) -> list[StoredDocument]:
        return [
            *self.draft_invoices.values(),
            *self.booked_invoices.values(),
            *self.draft_orders.values(),
            *self.sent_orders.values(),
            *self.archived_orders.values(),
        ]

    # --- validation and totals -------------------------------------------------------------

    def _validate(self, body: Any) -> tuple[dict[str, Any], dict[Decimal, Decimal]]:
        state = self.state
        errors = Annotations()
        if not isinstance(body, dict):
            errors.add(("document",), BAD_VALUE, "The request body must be a JSON object.")
            errors.raise_if_any(state.clock.now())
        find_nulls(body, (), errors)
        currency = state.check_text(body, errors, (), "currency", 3, required=True)
        if currency is not None and currency not in state.currencies:
            errors.add(
                ("currency",),
                NOT_FOUND,
                "currency does not exist.",
                value=currency,
                hint="Find a list of currencies at /currencies.",
            )
        customer = state.check_reference(
            body, errors, (), "customer", "customerNumber", state.customers
        )
        layout = state.check_reference(body, errors, (), "layout", "layoutNumber", state.layouts)
        terms = state.check_reference(
            body, errors, (), "paymentTerms", "paymentTermsNumber", state.payment_terms
        )
        when = state.check_text(body, errors, (), "date", 10, required=True)
        if when is not None and not _valid_date(when):
            errors.add(("date",), BAD_VALUE, "date must be formatted YYYY-MM-DD.", value=when)
        kind = state.payment_terms.get(terms, {}).get("paymentTermsType") if terms else None
        if kind == "dueDate" and not body.get("dueDate"):
            # the header's dueDate is "only for paymentTermsType=dueDate", and then needed
            # (reference/erp-apis.md §1.6)
            errors.add(
                ("dueDate",),
                REQUIRED,
                "Property dueDate is required when the payment terms are of type dueDate.",
            )
        zone: Any = None
        recipient = body.get("recipient")
        if not isinstance(recipient, dict):
            errors.add(("recipient",), REQUIRED, "Property recipient is required.")
        else:
            state.check_text(recipient, errors, ("recipient",), "name", 250, required=True)
            zone = state.check_reference(
                recipient, errors, ("recipient",), "vatZone", "vatZoneNumber", state.vat_zones
            )
        references = body.get("references", {})
        if isinstance(references, dict):
            state.check_text(references, errors, ("references",), "other", 250)
        notes = body.get("notes", {})
        if isinstance(notes, dict):
            state.check_text(notes, errors, ("notes",), "heading", 250)
            state.check_text(notes, errors, ("notes",), "textLine1", 1000)
        raw_lines = body.get("lines", [])
        if not isinstance(raw_lines, list):
            errors.add(("lines",), BAD_VALUE, "lines must be an array.")
            raw_lines = []
        lines = [self._line(item, index, zone, errors) for index, item in enumerate(raw_lines)]
        errors.raise_if_any(state.clock.now())

        vat_by_rate: dict[Decimal, Decimal] = {}
        net = vat = _ZERO
        for line in lines:
            assert line is not None
            rate, row_vat = line.pop("_vatRate"), line.pop("_vatAmount")
            vat_by_rate[rate] = vat_by_rate.get(rate, _ZERO) + row_vat
            net += line["totalNetAmount"]
            vat += row_vat
        assert isinstance(recipient, dict)
        normalized = {
            **body,
            "date": when,
            "currency": currency,
            "netAmount": net,
            "vatAmount": vat,
            "grossAmount": net + vat,
            "roundingAmount": _ZERO,
            "customer": {"customerNumber": customer, "self": f"/customers/{customer}"},
            "recipient": {**recipient, "vatZone": dict(state.vat_zones[zone])},
            "layout": dict(state.layouts[layout]),
            "paymentTerms": dict(state.payment_terms[terms]),
            "lines": lines,
        }
        return normalized, vat_by_rate

    def _line(self, line: Any, index: int, zone: Any, errors: Annotations) -> dict[str, Any] | None:
        state = self.state
        path: Path = ("lines", index)
        if not isinstance(line, dict):
            errors.add(path, BAD_VALUE, "A line must be a JSON object.")
            return None
        product_ref = line.get("product")
        number: Any = None
        if isinstance(product_ref, dict):
            number = product_ref.get("productNumber")
            if number is None and isinstance(product_ref.get("self"), str):
                segment = unquote(product_ref["self"].rstrip("/").rsplit("/", 1)[-1])
                number = decode_id(segment)
        product: dict[str, Any] | None = None
        if number is None:
            errors.add(
                (*path, "product"),
                NO_PRODUCT_ID,
                "No identifiers present on product. Please include either a self link or a "
                "productNumber.",
                hint="Find a list of resources at /products.",
            )
        elif not isinstance(number, str) or number not in state.products:
            errors.add(
                (*path, "product"),
                NOT_FOUND,
                "product does not exist.",
                value=number,
                hint="Find a list of resources at /products.",
            )
        else:
            product = state.products[number]
        quantity = line.get("quantity")
        if quantity is None:
            errors.add(
                (*path, "quantity"),
                NO_QUANTITY,
                "Property quantity must have a value when product is set.",
            )
        elif not is_number(quantity):
            errors.add((*path, "quantity"), BAD_VALUE, "quantity must be a number.", value=quantity)
        price = line.get("unitNetPrice")
        if price is None and product is not None:
            price = product.get("salesPrice", _ZERO)
        if price is not None and not is_number(price):
            errors.add(
                (*path, "unitNetPrice"), BAD_VALUE, "unitNetPrice must be a number.", value=price
            )
        elif price is not None and Decimal(price) != Decimal(price).quantize(Decimal("0.01")):
            errors.add(
                (*path, "unitNetPrice"),
                PRICE_SCALE,
                "unitNetPrice scale cannot be greater then two decimal places.",
                value=price,
                hint="Please check the format of your data.",
            )
        discount = line.get("discountPercentage", _ZERO)
        if not is_number(discount) or not (0 <= Decimal(discount) <= 100):
            errors.add(
                (*path, "discountPercentage"),
                BAD_VALUE,
                "discountPercentage must be a number from 0 to 100.",
                value=discount,
            )
        description = state.check_text(line, errors, path, "description", 2500)
        if "unit" in line:
            state.check_reference(line, errors, path, "unit", "unitNumber", state.units)
        if product is None or not (
            is_number(quantity) and is_number(price) and is_number(discount)
        ):
            return None
        gross = Decimal(quantity) * Decimal(price)
        net = round_money(gross - gross * Decimal(discount) / 100)
        rate = state.product_rate(product["productNumber"], zone)
        return {
            **line,
            "lineNumber": index + 1,
            "sortKey": line.get("sortKey", index + 1),
            "product": {
                "productNumber": product["productNumber"],
                "self": f"/products/{encode_id(product['productNumber'])}",
            },
            "description": description or product["name"],
            "quantity": quantity,
            "unitNetPrice": price,
            "discountPercentage": discount,
            "totalNetAmount": net,
            "_vatRate": rate,
            "_vatAmount": round_money(net * rate / 100),
        }

    # --- invoices --------------------------------------------------------------------------

    def create_draft_invoice(self, body: Any) -> StoredDocument:
        normalized, vat_by_rate = self._validate(body)
        number = self._next_draft
        self._next_draft += 1
        normalized.pop("bookedInvoiceNumber", None)
        normalized["draftInvoiceNumber"] = number
        normalized["self"] = f"/invoices/drafts/{number}"
        for line in normalized["lines"]:
            line.pop("vatRate", None)
            line.pop("vatAmount", None)
        document = StoredDocument("draft_invoice", number, normalized, vat_by_rate)
        self.draft_invoices[number] = document
        return document

    def book(self, body: Any) -> StoredDocument:
        state = self.state
        errors = Annotations()
        if not isinstance(body, dict):
            body = {}
        find_nulls(body, (), errors)
        draft_number = state.check_reference(
            body, errors, (), "draftInvoice", "draftInvoiceNumber", self.draft_invoices
        )
        wanted = body.get("bookWithNumber")
        if wanted is not None:
            if not isinstance(wanted, int) or isinstance(wanted, bool) or wanted < 1:
                errors.add(
                    ("bookWithNumber",),
                    BAD_VALUE,
                    "bookWithNumber must be a positive integer.",
                    value=wanted,
                )
            elif wanted in self.booked_invoices:
                errors.add(
                    ("bookWithNumber",),
                    DUPLICATE,
                    "An invoice with this number is already booked.",
                    value=wanted,
                )
        send_by = body.get("sendBy", body.get("sentBy", "none"))
        if not isinstance(send_by, str) or send_by.lower() not in ("none", "ean"):
            errors.add(("sendBy",), BAD_VALUE, "sendBy must be none or ean.", value=send_by)
        errors.raise_if_any(state.clock.now())
        draft = self.draft_invoices.pop(draft_number)
        number = (
            wanted or max(self.first_booked_number - 1, max(self.booked_invoices, default=0)) + 1
        )
        booked = {k: v for k, v in draft.body.items() if k not in ("draftInvoiceNumber", "self")}
        terms = booked["paymentTerms"]
        due = date.fromisoformat(booked["date"]) + timedelta(days=terms.get("daysOfCredit", 0))
        lines = []
        vat_by_rate: dict[Decimal, Decimal] = {}
        zone = booked["recipient"]["vatZone"]["vatZoneNumber"]
        for line in booked["lines"]:
            rate = state.product_rate(line["product"]["productNumber"], zone)
            vat = round_money(line["totalNetAmount"] * rate / 100)
            vat_by_rate[rate] = vat_by_rate.get(rate, _ZERO) + vat
            lines.append({**line, "vatRate": rate, "vatAmount": vat})
        vat_total = sum(vat_by_rate.values(), _ZERO)
        gross = booked["netAmount"] + vat_total
        booked.update(
            vatAmount=vat_total,
            grossAmount=gross,
            bookedInvoiceNumber=number,
            dueDate=due.isoformat(),
            remainder=gross,
            remainderInBaseCurrency=gross,
            lines=lines,
            pdf={"download": f"/invoices/booked/{number}/pdf"},
            self=f"/invoices/booked/{number}",
        )
        document = StoredDocument("booked_invoice", number, booked, vat_by_rate)
        self.booked_invoices[number] = document
        return document

    # --- orders ----------------------------------------------------------------------------

    def create_draft_order(self, body: Any) -> StoredDocument:
        normalized, vat_by_rate = self._validate(body)
        number = self._next_order
        self._next_order += 1
        normalized["orderNumber"] = number
        normalized["self"] = f"/orders/drafts/{number}"
        document = StoredDocument("draft_order", number, normalized, vat_by_rate)
        self.draft_orders[number] = document
        return document

    def send_order(self, body: Any) -> StoredDocument:
        """Register an order as sent: the body is the full order; an ``orderNumber`` of a
        draft moves that draft, no number creates the order directly as sent."""
        number = body.get("orderNumber") if isinstance(body, dict) else None
        if number is not None and number not in self.draft_orders:
            errors = Annotations()
            errors.add(("orderNumber",), NOT_FOUND, "order does not exist.", value=number)
            errors.raise_if_any(self.state.clock.now())
        normalized, vat_by_rate = self._validate(body)
        if number is None:
            number = self._next_order
            self._next_order += 1
        else:
            del self.draft_orders[number]
        normalized["orderNumber"] = number
        normalized["self"] = f"/orders/sent/{number}"
        document = StoredDocument("sent_order", number, normalized, vat_by_rate)
        self.sent_orders[number] = document
        return document


def _valid_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
