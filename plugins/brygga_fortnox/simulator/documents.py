"""Invoices and orders of the simulator: rows, totals, actions and list items.

Documented (reference §2.6 [spec F1]): required ``CustomerNumber``; rows ``InvoiceRows`` /
``OrderRows`` with ``ArticleNumber``, ``Description``, ``DeliveredQuantity`` (invoices) or
``OrderedQuantity`` (orders) typed as strings, ``Price``, ``Discount`` + ``DiscountType``
(``AMOUNT``|``PERCENT``), ``VAT``; header ``ExternalInvoiceReference1`` (≤80),
``YourOrderNumber`` (≤75), ``Freight``, ``AdministrationFee``, ``VATIncluded``; ``Balance`` 0
means fully paid; ``PUT …/bookkeep``, ``…/cancel``, ``…/credit`` on invoices and
``…/createinvoice``, ``…/cancel`` on orders (the invoice gets ``OrderReference``, the order
``InvoiceReference``); unset header values come from company defaults. A reference to no
document reads ``"0"``, as Fortnox answers it (``"InvoiceReference": "0"``, ``"OrderReference":
"0"``, ``"CreditInvoiceReference": "0"`` in a real invoice answer kept by a PHP client's tests,
FAPI\\Fortnox ``InvoiceTest``); quantities are JSON strings, ``Price``, ``Discount``, ``VAT``,
``Freight`` and ``AdministrationFee`` JSON numbers (``fortnox_Invoice_InvoiceRow``,
``fortnox_Order_OrderRow`` of the spec), anything else is 2000750.

Modelled: every row's net is ``round(quantity * price, less the discount)`` and its VAT
``round(net * VAT / 100)`` (per-row rounding); ``Freight`` and ``AdministrationFee`` add 25 %
VAT; no automatic öre rounding (``RoundOff`` 0). A credit invoice negates the rows but keeps
``Freight`` and ``AdministrationFee`` as they were (the credit-invoice sign quirk of the fee
fields named in issue 13, not found in the stored vendor docs; it is why adapters send fees
as article rows). A row VAT must be one of the
company's rates (2004001). An article number that does not exist is 2000428. A cancelled
or booked invoice cannot be cancelled again; a booked one cannot be cancelled at all.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from brygga_fortnox.simulator.errors import ApiError
from brygga_fortnox.simulator.records import decimal_of, quantity_of
from brygga_fortnox.simulator.state import SimState

__all__ = [
    "NO_REFERENCE",
    "book",
    "cancel",
    "create_document",
    "create_invoice_from_order",
    "credit",
    "invoice_list_item",
    "linked",
    "order_list_item",
    "pay",
    "payment_list_item",
]

#: what Fortnox answers in a reference field that refers to no document
NO_REFERENCE = "0"
CENT = Decimal("0.01")
FEE_VAT = Decimal(25)
_DISCOUNT_TYPES = {"AMOUNT", "PERCENT"}
_LIMITS = {
    "ExternalInvoiceReference1": 80,
    "ExternalInvoiceReference2": 80,
    "YourOrderNumber": 75,
    "YourReference": 50,
    "OurReference": 50,
    "Remarks": 1024,
}


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _row(
    state: SimState, raw: Any, index: int, quantity_field: str, rates: frozenset[Decimal]
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ApiError.invalid(f"rad {index}", raw)
    article = raw.get("ArticleNumber")
    found = None
    if article is not None:
        if not isinstance(article, str):
            raise ApiError.invalid("ArticleNumber", article)
        found = state.get("articles", article)
        if found is None:
            raise ApiError(400, 2000428, f"Ogiltigt artikelnummer ({article}) på rad {index}")
    quantity = quantity_of(raw.get(quantity_field, "0"), quantity_field)
    price = decimal_of(raw.get("Price", found["SalesPrice"] if found else 0), "Price")
    vat = decimal_of(raw.get("VAT", found["VAT"] if found else FEE_VAT), "VAT")
    if vat not in rates:
        raise ApiError(400, 2004001, f"Kunde inte hitta moms ({vat}) på rad {index}")
    discount = decimal_of(raw.get("Discount", 0), "Discount")
    discount_type = raw.get("DiscountType", "PERCENT")
    if discount_type not in _DISCOUNT_TYPES:
        raise ApiError.invalid("DiscountType", discount_type)
    gross = quantity * price
    net = gross - (discount if discount_type == "AMOUNT" else gross * discount / 100)
    description = raw.get("Description", found["Description"] if found else "")
    if not isinstance(description, str) or len(description) > 255:
        raise ApiError.invalid("Description", description)
    row: dict[str, Any] = {
        "RowId": index,
        "ArticleNumber": article or "",
        "Description": description,
        quantity_field: str(quantity),
        "Price": price,
        "Discount": discount,
        "DiscountType": discount_type,
        "VAT": int(vat) if vat == vat.to_integral_value() else vat,
        "Total": _round(net),
        "Unit": found.get("Unit", "") if found else "",
    }
    if quantity_field == "OrderedQuantity":
        row["DeliveredQuantity"] = "0"
    return row


def _header_text(body: dict[str, Any], field: str) -> str:
    value = body.get(field, "")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > _LIMITS.get(field, 1024):
        raise ApiError.invalid(field, value)
    return value


def create_document(
    state: SimState, kind: str, body: dict[str, Any], rates: frozenset[Decimal]
) -> dict[str, Any]:
    """``POST /3/invoices`` or ``/3/orders`` (``kind`` "invoices" or "orders")."""
    number = body.get("CustomerNumber")
    if not isinstance(number, str) or not number:
        raise ApiError(400, 2000750, "Fältet CustomerNumber måste fyllas i.")
    customer = state.get("customers", number)
    if customer is None:
        raise ApiError(400, 2000204, f"Kunde inte hitta kunden ({number})")
    invoice = kind == "invoices"
    rows_field = "InvoiceRows" if invoice else "OrderRows"
    raw_rows = body.get(rows_field, [])
    if not isinstance(raw_rows, list):
        raise ApiError.invalid(rows_field, raw_rows)
    quantity_field = "DeliveredQuantity" if invoice else "OrderedQuantity"
    rows = [_row(state, r, i, quantity_field, rates) for i, r in enumerate(raw_rows, 1)]
    freight = decimal_of(body.get("Freight", 0), "Freight")
    fee = decimal_of(body.get("AdministrationFee", 0), "AdministrationFee")
    day = (
        body.get("InvoiceDate" if invoice else "OrderDate") or state.clock.now().date().isoformat()
    )
    try:
        date.fromisoformat(str(day))
    except ValueError:
        raise ApiError.invalid("date", day) from None
    doc_number = state.next_number(kind)
    record: dict[str, Any] = {
        "@url": f"https://api.fortnox.se/3/{kind}/{doc_number}",
        "DocumentNumber": doc_number,
        "CustomerNumber": number,
        "CustomerName": customer["Name"],
        "Currency": body.get("Currency") or customer.get("Currency", "SEK"),
        "VATIncluded": bool(body.get("VATIncluded", False)),
        "Freight": freight,
        "AdministrationFee": fee,
        "RoundOff": Decimal(0),
        "Cancelled": False,
        "Sent": False,
        rows_field: rows,
    }
    for field in _LIMITS:
        text = _header_text(body, field)
        if text:
            record[field] = text
    if invoice:
        record.update(
            InvoiceDate=str(day), Booked=False, Credit="false", InvoiceType="INVOICE",
            CreditInvoiceReference=NO_REFERENCE, OrderReference=NO_REFERENCE,
            OfferReference=NO_REFERENCE, InvoiceReference=NO_REFERENCE,
        )  # fmt: skip
    else:
        record.update(
            OrderDate=str(day), InvoiceReference=NO_REFERENCE, OfferReference=NO_REFERENCE,
            DeliveryState="registration",
        )  # fmt: skip
    _totals(record, rows_field)
    return state.put(kind, doc_number, record)


def _totals(record: dict[str, Any], rows_field: str) -> None:
    vat_by_rate: dict[Decimal, Decimal] = {}
    net = Decimal(0)
    for row in record[rows_field]:
        net += row["Total"]
        rate = Decimal(row["VAT"])
        vat_by_rate[rate] = vat_by_rate.get(rate, Decimal(0)) + _round(row["Total"] * rate / 100)
    fees = record["Freight"] + record["AdministrationFee"]
    record["FreightVAT"] = _round(record["Freight"] * FEE_VAT / 100)
    record["AdministrationFeeVAT"] = _round(record["AdministrationFee"] * FEE_VAT / 100)
    vat = sum(vat_by_rate.values(), Decimal(0)) + record["FreightVAT"]
    vat += record["AdministrationFeeVAT"]
    record["Net"] = net
    record["Gross"] = net + fees
    record["TotalVAT"] = vat
    record["Total"] = net + fees + vat
    record["TotalToPay"] = record["Total"]
    if "Booked" in record:
        record["Balance"] = record["Total"]


def linked(record: dict[str, Any], field: str) -> str:
    """The document number a reference field holds, or "" when it refers to none."""
    value = str(record.get(field) or "").strip()
    return "" if value in ("", NO_REFERENCE) else value


def _invoice(state: SimState, number: str) -> dict[str, Any]:
    record = state.get("invoices", number)
    if record is None:
        raise ApiError.not_found(f"faktura {number}")
    return record


def book(state: SimState, number: str) -> dict[str, Any]:
    """``PUT /3/invoices/{n}/bookkeep``."""
    record = _invoice(state, number)
    if record["Cancelled"]:
        raise ApiError(400, 2000800, "Fakturan är makulerad och kan inte bokföras.")
    record["Booked"] = True
    return state.put("invoices", number, record)


def cancel(state: SimState, kind: str, number: str) -> dict[str, Any]:
    """``PUT /3/{invoices|orders}/{n}/cancel``."""
    record = state.get(kind, number)
    if record is None:
        raise ApiError.not_found(f"dokument {number}")
    if record.get("Booked") or linked(record, "InvoiceReference"):
        raise ApiError(
            400, 2000800, "Dokumentet är bokfört eller fakturerat och kan inte makuleras."
        )
    record["Cancelled"] = True
    return state.put(kind, number, record)


def pay(state: SimState, number: str, amount: Decimal) -> dict[str, Any]:
    """``POST /3/invoicepayments``: lowers the booked invoice's ``Balance`` and keeps the
    payment (listed by ``GET /3/invoicepayments``, with its own ``lastmodified``). Whether a
    payment moves the invoice's ``lastmodified`` is not documented: only with
    ``state.payment_touches_invoice``."""
    record = _invoice(state, number)
    if not record["Booked"] or record["Cancelled"]:
        raise ApiError(400, 2000800, "Fakturan måste vara bokförd för att kunna betalas.")
    record["Balance"] = record["Balance"] - amount
    if state.payment_touches_invoice:
        state.touch("invoices", number)
    payment_number = state.next_number("invoicepayments")
    payment = {
        "@url": f"https://api.fortnox.se/3/invoicepayments/{payment_number}",
        "Number": payment_number,
        "InvoiceNumber": int(number) if number.isdigit() else number,
        "Amount": amount,
        "Currency": record.get("Currency", "SEK"),
        "PaymentDate": state.clock.now().date().isoformat(),
        "Booked": True,
        "Source": "manual",
        "WriteOffExist": False,
    }
    return state.put("invoicepayments", payment_number, payment)


def payment_list_item(record: dict[str, Any]) -> dict[str, Any]:
    """The list shape (``fortnox_InvoicePaymentListItem``: ``InvoiceNumber`` an integer)."""
    keys = ("@url", "Amount", "Booked", "Currency", "InvoiceNumber", "Number", "PaymentDate",
            "Source", "WriteOffExist")  # fmt: skip
    return {k: record[k] for k in keys if k in record}


def credit(state: SimState, number: str) -> dict[str, Any]:
    """``PUT /3/invoices/{n}/credit``: a credit invoice with negated rows; the fee fields keep
    their sign (the quirk, see the module notes)."""
    original = _invoice(state, number)
    if not original["Booked"]:
        raise ApiError(400, 2000800, "Endast bokförda fakturor kan krediteras.")
    copy = {k: v for k, v in original.items() if k not in ("@url", "DocumentNumber")}
    copy["InvoiceRows"] = [
        {**row, "Price": -row["Price"], "Total": -row["Total"]} for row in original["InvoiceRows"]
    ]
    new_number = state.next_number("invoices")
    copy.update(
        {
            "@url": f"https://api.fortnox.se/3/invoices/{new_number}",
            "DocumentNumber": new_number,
            "Booked": False,
            "Credit": "true",
            "CreditInvoiceReference": number,
        }
    )
    _totals(copy, "InvoiceRows")
    state.put("invoices", new_number, copy)
    original["CreditInvoiceReference"] = new_number
    state.put("invoices", number, original)
    return copy


def create_invoice_from_order(state: SimState, number: str) -> dict[str, Any]:
    """``PUT /3/orders/{n}/createinvoice``: the invoice copies header and rows (delivered =
    ordered), refers to the order in ``OrderReference``; the order gets ``InvoiceReference``."""
    order = state.get("orders", number)
    if order is None:
        raise ApiError.not_found(f"order {number}")
    if order["Cancelled"] or linked(order, "InvoiceReference"):
        raise ApiError(400, 2000800, "Ordern är makulerad eller redan fakturerad.")
    new_number = state.next_number("invoices")
    rows = [
        {k: v for k, v in row.items() if k not in ("OrderedQuantity",)}
        | {"DeliveredQuantity": row["OrderedQuantity"]}
        for row in order["OrderRows"]
    ]
    invoice = {
        k: v
        for k, v in order.items()
        if k not in ("@url", "DocumentNumber", "OrderRows", "OrderDate", "InvoiceReference")
        and k not in ("DeliveryState", "OfferReference")
    }
    invoice.update(
        {
            "@url": f"https://api.fortnox.se/3/invoices/{new_number}",
            "DocumentNumber": new_number,
            "InvoiceRows": rows,
            "InvoiceDate": state.clock.now().date().isoformat(),
            "OrderReference": number,
            "CreditInvoiceReference": NO_REFERENCE,
            "OfferReference": NO_REFERENCE,
            "InvoiceReference": NO_REFERENCE,
            "Booked": False,
            "Credit": "false",
            "InvoiceType": "INVOICE",
        }
    )
    _totals(invoice, "InvoiceRows")
    state.put("invoices", new_number, invoice)
    order["InvoiceReference"] = new_number
    state.put("orders", number, order)
    return invoice


def invoice_list_item(record: dict[str, Any]) -> dict[str, Any]:
    """The list shape (``fortnox_InvoiceListItem``)."""
    keys = (
        "@url", "Balance", "Booked", "Cancelled", "Currency", "CustomerName", "CustomerNumber",
        "DocumentNumber", "ExternalInvoiceReference1", "ExternalInvoiceReference2",
        "InvoiceDate", "InvoiceType", "Sent", "Total",
    )  # fmt: skip
    item = {k: record[k] for k in keys if k in record}
    item.setdefault("ExternalInvoiceReference1", "")
    return item


def order_list_item(record: dict[str, Any]) -> dict[str, Any]:
    """The list shape (``fortnox_OrderListItem``: ``CustomerNumber`` required)."""
    keys = (
        "@url", "Cancelled", "Currency", "CustomerName", "CustomerNumber", "DocumentNumber",
        "ExternalInvoiceReference1", "ExternalInvoiceReference2", "OrderDate", "Sent", "Total",
    )  # fmt: skip
    item = {k: record[k] for k in keys if k in record}
    item.setdefault("ExternalInvoiceReference1", "")
    return item
