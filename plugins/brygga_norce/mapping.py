"""Norce orders (a pushed OrderRequest or a Query order) to brygga's canonical Order.

Chosen where the reference is silent or says [inferred] (modelled, not documented):

- The total is the sum of the rows, the VAT ``Σ UnitVat × Quantity`` (shop-apis.md §7.1); a
  row's ``UnitVat`` missing is ``UnitPrice × VatRate / 100``. Query rows carry no VAT
  amount, so theirs is always computed.
- A row whose ``UnitPriceOriginal`` is above ``UnitPrice`` keeps the original as unit price
  and the difference times quantity as its discount (§7.1).
- ``Type: Freight`` rows are freight; other ``TypeGroup: Fee/AddedFee`` rows are fees
  (§4.3). The rarely used ``Fees`` collection becomes freight (Type 0) and fee (Type 1) rows,
  taken as excluding VAT like item prices. Order-level ``Discounts`` are refused: the
  reference does not say whether they include VAT.
- The currency is ``Header.CurrencyCode``, else the first payment's ``CurrencyCode``.
- Paid means the payments add up to the total (or more).
- Hostile values: numbers finite and within brygga's bounds, VAT rates 0..100, quantities
  whole and above 0, times from 1970 on (naive times are taken as UTC), e-mail at most 254
  characters, country codes two letters; control characters are removed from free text.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal

from brygga.errors import PermanentError
from brygga.models import Address, Customer, CustomerKind, LineKind, Order, OrderLine
from brygga_norce.wire import (
    ClientCustomerWire,
    OrderItemWire,
    OrderRequestWire,
    QueryBuyerWire,
    QueryItemWire,
    QueryOrderWire,
)

__all__ = ["map_push", "map_query", "norce_time"]

ZERO = Decimal(0)
MAX_QUANTITY = Decimal(10) ** 9
MAX_AMOUNT = Decimal(10) ** 12
MAX_EMAIL = 254
FIRST_YEAR = 1970
#: how far a row's UnitVat may be from UnitPrice × VatRate / 100 (Norce rounds to 4 decimals)
VAT_SLACK = Decimal("0.01")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_FIX = "fix it in Norce Admin (or ask the checkout's integrator), then retry"


def _shown(value: object) -> str:
    text = str(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _text(value: str | None) -> str:
    text = value or ""
    if not text.isprintable():
        text = "".join(ch for ch in text if ch in "\t\n" or unicodedata.category(ch) != "Cc")
    return text.strip()


def _amount(
    subject: str, field: str, value: Decimal | None, limit: Decimal = MAX_AMOUNT
) -> Decimal:
    if value is None:
        raise PermanentError(f"{subject}: {field} is missing; {_FIX}")
    if not value.is_finite():
        raise PermanentError(f"{subject}: {field} is {_shown(value)}, not a number; {_FIX}")
    if abs(value) > limit:
        raise PermanentError(
            f"{subject}: {field} is {_shown(value)}, more than brygga accepts (at most "
            f"{limit:,}); {_FIX}"
        )
    return value


def _rate(subject: str, value: Decimal | None) -> Decimal:
    rate = _amount(subject, "VatRate", value)
    if not ZERO <= rate <= 100:
        raise PermanentError(f"{subject}: VatRate is {rate}, not a percentage 0-100; {_FIX}")
    return rate


def norce_time(subject: str, field: str, value: datetime | None) -> datetime:
    """The time in UTC (naive: taken as UTC); missing or before 1970 is a PermanentError."""
    if value is None:
        raise PermanentError(f"{subject}: {field} is missing; {_FIX}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or utc.year < FIRST_YEAR:
        raise PermanentError(
            f"{subject}: {field} is {_shown(value.isoformat())}, not a plausible order time; {_FIX}"
        )
    return utc


def _kind(type_: str | None, group: str | None) -> LineKind:
    if (type_ or "").lower() == "freight":
        return LineKind.FREIGHT
    if (group or "").lower() in ("fee", "addedfee"):
        return LineKind.FEE
    return LineKind.ITEM


class _Row:
    """One priced row before it becomes an OrderLine: quantity, unit price, VAT per unit."""

    def __init__(
        self,
        subject: str,
        *,
        sku: str,
        name: str,
        quantity: int | None,
        price: Decimal | None,
        original: Decimal | None,
        rate: Decimal | None,
        unit_vat: Decimal | None,
        kind: LineKind,
        price_field: str = "UnitPrice",
    ) -> None:
        if quantity is None:
            raise PermanentError(f"{subject}: Quantity is missing; {_FIX}")
        if not 0 < quantity <= MAX_QUANTITY:
            raise PermanentError(
                f"{subject}: Quantity is {quantity}; brygga takes 1 to {MAX_QUANTITY:,} on a "
                f"new order; {_FIX}"
            )
        self.quantity = Decimal(quantity)
        self.price = _amount(subject, price_field, price)
        if self.price < 0:
            raise PermanentError(f"{subject}: {price_field} is {self.price}, below 0; {_FIX}")
        self.rate = _rate(subject, rate)
        computed = self.price * self.rate / 100
        if unit_vat is None:
            self.vat = computed
        else:
            self.vat = _amount(subject, "UnitVat", unit_vat)
            if abs(self.vat - computed) > VAT_SLACK:
                raise PermanentError(
                    f"{subject}: UnitVat {self.vat} does not match {price_field} {self.price} at "
                    f"VatRate {self.rate} % ({computed:.4f}); {_FIX}"
                )
        self.original = self.price
        if original is not None:
            before = _amount(subject, f"{price_field}Original", original)
            if before > self.price:
                self.original = before
        if kind is LineKind.ITEM and not sku:
            raise PermanentError(f"{subject}: the row has no PartNo (SKU); {_FIX}")
        self.line = OrderLine(
            kind=kind,
            sku=sku,
            name=name or sku,
            quantity=self.quantity,
            unit_price=self.original,
            vat_rate=self.rate,
            discount=(self.original - self.price) * self.quantity,
        )


def _push_row(ref: str, number: int, item: OrderItemWire) -> _Row:
    sku = _text(item.part_no)
    subject = f"Norce order {ref}, row {item.line_no or number} ({_shown(sku or 'no PartNo')})"
    return _Row(
        subject,
        sku=sku,
        name=_text(item.description),
        quantity=item.quantity,
        price=item.unit_price,
        original=item.unit_price_original,
        rate=item.vat_rate,
        unit_vat=item.unit_vat,
        kind=_kind(item.type, item.type_group),
    )


def _query_row(ref: str, number: int, item: QueryItemWire) -> _Row:
    sku = _text(item.part_no)
    subject = f"Norce order {ref}, row {item.line_no or number} ({_shown(sku or 'no PartNo')})"
    return _Row(
        subject,
        sku=sku,
        name=_text(item.product_name),
        quantity=item.quantity,
        price=item.price_sale,
        original=item.price_sale_original,
        rate=item.vat_rate,
        unit_vat=None,
        kind=_kind(item.type, item.type_group),
        price_field="PriceSale",
    )


def _totals(rows: list[_Row]) -> tuple[Decimal, Decimal]:
    vat = sum((r.quantity * r.vat for r in rows), ZERO)
    net = sum((r.quantity * r.price for r in rows), ZERO)
    return net + vat, vat


def _email(ref: str, value: str | None) -> str:
    email = _text(value)
    if len(email) > MAX_EMAIL:
        raise PermanentError(
            f"Norce order {ref}: the buyer's e-mail is {len(email)} characters long, longer "
            f"than any valid e-mail address ({MAX_EMAIL}); {_FIX}"
        )
    return email


def _country(ref: str, value: str | None) -> str:
    code = _text(value).upper()
    if code and not _COUNTRY.match(code):
        raise PermanentError(
            f"Norce order {ref}: country {_shown(code)} is not an ISO 3166-1 alpha-2 code; {_FIX}"
        )
    return code


def _currency(ref: str, *candidates: str | None) -> str:
    for candidate in candidates:
        code = _text(candidate)
        if code:
            if not _CURRENCY.match(code):
                raise PermanentError(
                    f"Norce order {ref}: currency {_shown(code)} is not an ISO 4217 code; {_FIX}"
                )
            return code
    raise PermanentError(f"Norce order {ref}: the order says no currency; {_FIX}")


def _address(ref: str, customer: ClientCustomerWire | None) -> Address | None:
    person = customer.person if customer else None
    if person is None:
        return None
    address = person.address
    company = customer.company if customer else None
    return Address(
        name=" ".join(p for p in (_text(person.first_name), _text(person.last_name)) if p),
        company=_text(company.name if company else None),
        street=_text(address.line1 if address else None),
        street2=_text(address.line2 if address else None),
        postal_code=_text(address.zip_code if address else None),
        city=_text(address.city if address else None),
        country_code=_country(ref, address.country if address else None),
        phone=_text(person.cell_phone) or _text(person.work_phone) or _text(person.private_phone),
    )


def _push_customer(ref: str, wire: OrderRequestWire) -> Customer:
    buyer = wire.buyer
    if buyer is None or buyer.person is None:
        raise PermanentError(f"Norce order {ref}: the OrderRequest has no Buyer.Person; {_FIX}")
    billing = _address(ref, buyer) or Address()
    company = buyer.company if buyer.company and _text(buyer.company.name) else None
    code = _text(company.code if company else None) or _text(buyer.person.customer_code)
    return Customer(
        shop_customer_id=code or None,
        kind=CustomerKind.COMPANY if company else CustomerKind.PERSON,
        email=_email(ref, buyer.person.email),
        name=(billing.company or billing.name) if company else billing.name,
        vat_number=_text(company.vat_no if company else None),
        customer_number=code,
        billing=billing,
        shipping=_address(ref, wire.ship_to),
    )


def map_push(wire: OrderRequestWire, *, status: str, received_at: datetime, mark: str) -> Order:
    """The order a pushed OrderRequest describes; ``received_at`` stands in for the time it
    was modified (a push is a new order), ``mark`` is the ERP number Norce holds."""
    ref = str(wire.header.client_order_ref)
    subject = f"Norce order {ref}"
    if not wire.items:
        raise PermanentError(f"{subject}: the OrderRequest has no Items; {_FIX}")
    if any(d.amount for d in wire.discounts or []):
        raise PermanentError(
            f"{subject}: the order has order-level Discounts, which brygga cannot book (the "
            "reference does not say whether they include VAT); show the discount on the rows "
            "in Norce's checkout, or transfer this order by hand"
        )
    rows = [_push_row(ref, n, item) for n, item in enumerate(wire.items, start=1)]
    for number, fee in enumerate(wire.fees or [], start=1):
        if fee.amount:
            rows.append(
                _Row(
                    f"{subject}, fee {number}",
                    sku="",
                    name=_text(fee.description) or ("Frakt" if fee.type == 0 else "Avgift"),
                    quantity=1,
                    price=fee.amount,
                    original=None,
                    rate=fee.vat_rate,
                    unit_vat=None,
                    kind=LineKind.FREIGHT if fee.type == 0 else LineKind.FEE,
                )
            )
    payments = wire.payments or []
    paid_amount = sum(
        (_amount(subject, "Payment.Amount", p.amount or ZERO) for p in payments), ZERO
    )
    total, vat = _totals(rows)
    created = norce_time(subject, "Header.OrderDate", wire.header.order_date or received_at)
    payment = payments[0] if payments else None
    extra = {
        "channel": "" if wire.header.application_id is None else str(wire.header.application_id),
        "source": _text(wire.header.source),
        "payment_method": _text(payment.payment_name if payment else None),
        "payment_method_code": _text(payment.payment_method_code if payment else None),
        "payment_reference": _text(payment.payment_ref if payment else None),
        "buyer_reference": _text(wire.header.buyer_reference),
    }
    return Order(
        shop_order_id=ref,
        number=ref,
        created_at=created,
        modified_at=max(created, received_at.astimezone(UTC)),
        status=status,
        currency=_currency(
            ref, wire.header.currency_code, payment.currency_code if payment else None
        ),
        customer=_push_customer(ref, wire),
        lines=tuple(r.line for r in rows),
        total=total,
        total_vat=vat,
        paid=total > 0 and paid_amount >= total,
        extra={k: v for k, v in extra.items() if v},
        exported_as=mark,
    )


def _query_customer(ref: str, buyer: QueryBuyerWire | None) -> Customer:
    if buyer is None:
        raise PermanentError(f"Norce order {ref}: the Query order has no Buyer; {_FIX}")
    company = _text(buyer.company_name)
    billing = Address(
        name=" ".join(p for p in (_text(buyer.first_name), _text(buyer.last_name)) if p),
        company=company,
        street=_text(buyer.address_line1),
        street2=_text(buyer.address_line2),
        postal_code=_text(buyer.zip_code),
        city=_text(buyer.city),
        country_code=_country(ref, buyer.country_code),
        phone=_text(buyer.phone_number),
    )
    return Customer(
        kind=CustomerKind.COMPANY if company else CustomerKind.PERSON,
        email=_email(ref, buyer.email_address),
        name=company or billing.name,
        billing=billing,
    )


def map_query(wire: QueryOrderWire, *, status: str, mark: str = "") -> Order:
    """The order as the Query API shows it (``$expand=Items,Buyer``), keyed by its
    ``QuotationId`` (the basket id); ``mark`` is the ERP number Norce holds ("" for none)."""
    ref = str(wire.quotation_id)
    subject = f"Norce order {ref}"
    if not wire.items:
        raise PermanentError(f"{subject}: the Query API shows the order without rows; {_FIX}")
    rows = [_query_row(ref, n, item) for n, item in enumerate(wire.items, start=1)]
    total, vat = _totals(rows)
    created = norce_time(subject, "Created", wire.order_date or wire.created)
    modified = norce_time(subject, "Updated", wire.updated or wire.created)
    return Order(
        shop_order_id=ref,
        number=ref,
        created_at=created,
        modified_at=max(created, modified),
        status=status,
        currency=_currency(ref, wire.currency_code),
        customer=_query_customer(ref, wire.buyer),
        lines=tuple(r.line for r in rows),
        total=total,
        total_vat=vat,
        extra={"channel": str(wire.application_id)} if wire.application_id is not None else {},
        exported_as=_text(mark),
    )
