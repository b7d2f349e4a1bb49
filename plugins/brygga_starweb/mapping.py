"""Starweb order JSON (decoded wire Structs) to brygga's canonical Order."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal

from brygga.documents import round_money
from brygga.errors import PermanentError
from brygga.models import Address, Customer, CustomerKind, LineKind, Order, OrderLine
from brygga_starweb.wire import AddressesWire, AddressWire, ItemWire, OrderWire

__all__ = ["looks_like_org_number", "map_order"]

ZERO = Decimal(0)
#: Hostile-input bounds (brygga's own, not Starweb's): no web-shop row is bigger than these,
#: and they keep every sum far inside the 28 digits of decimal arithmetic.
MAX_QUANTITY = Decimal(10) ** 9
MAX_AMOUNT = Decimal(10) ** 12
#: the longest e-mail address there can be (RFC 5321 path limit)
MAX_EMAIL = 254
#: an order time before this year is garbage, not history
FIRST_YEAR = 1970


def looks_like_org_number(value: str) -> bool:
    """True for Nordic organisation numbers, False for personal identity numbers.

    Swedish org numbers have ten digits with a third digit of 2 or more (a personnummer's
    third and fourth digits are a month), optionally prefixed ``16``; Danish CVR and Finnish
    Y-tunnus have eight digits, Norwegian org numbers nine.
    """
    digits = re.sub(r"[\s-]", "", value)
    if not digits.isdigit():
        return False
    if len(digits) == 12 and digits.startswith("16"):
        digits = digits[2:]
    if len(digits) in (8, 9):
        return True
    return len(digits) == 10 and digits[2] >= "2"


def _check(subject: str, field: str, value: Decimal | None, *, rate: bool = False) -> None:
    """VAT rates must lie in 0..100 and amounts must not be negative (the API's own rules)."""
    if value is None or (0 <= value <= 100 if rate else value >= 0):
        return
    allowed = "between 0 and 100" if rate else "0 or more"
    raise PermanentError(
        f"{subject}: {field} is {value}, but Starweb allows only {allowed}; fix it in Starweb "
        "admin, then retry"
    )


def _shown(value: object) -> str:
    """A value for a message: at most 40 characters, control characters escaped."""
    text = str(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _number(subject: str, field: str, value: Decimal | None, limit: Decimal) -> None:
    """Numbers must be finite (no NaN/Infinity) and at most ``limit`` either way."""
    if value is None:
        return
    if not value.is_finite():
        problem = "which is not a number"
    elif abs(value) > limit:
        problem = f"more than brygga accepts (at most {limit:,})"
    else:
        return
    raise PermanentError(
        f"{subject}: {field} is {_shown(value)}, {problem}; fix it in Starweb admin, then retry"
    )


def _utc(subject: str, field: str, value: datetime) -> datetime:
    """The time in UTC; a time that does not fit (year 1) or predates 1970 is garbage."""
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or utc.year < FIRST_YEAR:
        raise PermanentError(
            f"{subject}: {field} is {value.isoformat()}, which is not a plausible order time; "
            "report it to Starweb, then retry"
        )
    return utc


def _text(value: str | None) -> str:
    """Free text, trimmed, with control characters removed (tabs and line breaks kept)."""
    text = value or ""
    if not text.isprintable():
        text = "".join(ch for ch in text if ch in "\t\n" or unicodedata.category(ch) != "Cc")
    return text.strip()


def _address(wire: AddressWire | None) -> Address:
    if wire is None:
        return Address()
    name = " ".join(p for p in (_text(wire.first_name), _text(wire.last_name)) if p)
    care_of = _text(wire.care_of)
    return Address(
        name=name,
        company=_text(wire.company_name),
        street=_text(wire.address),
        street2=f"c/o {care_of}" if care_of else "",
        postal_code=_text(wire.postal_code),
        city=_text(wire.city),
        country_code=_text(wire.country_code).upper(),
        phone=_text(wire.phone_no) or _text(wire.mobile_phone_no),
    )


def _first(*candidates: AddressWire | None) -> Address | None:
    for candidate in candidates:
        address = _address(candidate)
        if address != Address():
            return address
    return None


def _customer(order: OrderWire) -> Customer:
    snapshot = order.customer.data if order.customer else None
    addresses = order.addresses.data if order.addresses else AddressesWire()
    billing = _first(
        addresses.customer_invoice, addresses.original_invoice, addresses.payment_method_invoice
    )
    shipping = _first(
        addresses.customer_delivery,
        addresses.original_delivery,
        addresses.payment_method_delivery,
    )
    billing = billing or Address()
    national_id = _text(snapshot.national_id_no if snapshot else None) or _text(
        order.original_customer_national_id_no
    )
    company = (snapshot is not None and snapshot.type == "company") or looks_like_org_number(
        national_id
    )
    email = _text(snapshot.email if snapshot else None) or _text(order.original_customer_email)
    if len(email) > MAX_EMAIL:
        raise PermanentError(
            f"Starweb order {order.order_id}: the customer e-mail is {len(email)} characters "
            f"long, longer than any valid e-mail address ({MAX_EMAIL}); fix it in Starweb "
            "admin, then retry"
        )
    return Customer(
        shop_customer_id=None if order.customer_id is None else str(order.customer_id),
        kind=CustomerKind.COMPANY if company else CustomerKind.PERSON,
        email=email,
        name=(billing.company or billing.name) if company else (billing.name or billing.company),
        org_number=national_id if company else "",
        vat_number=_text(snapshot.vat_no if snapshot else None)
        or _text(order.original_customer_vat_no),
        billing=billing,
        shipping=shipping,
    )


def _item_line(order_id: int, number: int, item: ItemWire) -> OrderLine:
    sku = (item.sku or "").strip()
    subject = f"Starweb order {order_id}, item {number} ({_shown(sku or 'no SKU')})"
    _number(subject, "quantity", item.quantity, MAX_QUANTITY)
    _number(subject, "unitPrice", item.unit_price, MAX_AMOUNT)
    _number(subject, "vatRate", item.vat_rate, MAX_AMOUNT)
    _number(subject, "discount", item.discount, MAX_AMOUNT)
    _check(subject, "vatRate", item.vat_rate, rate=True)
    _check(subject, "discount", item.discount)
    if item.discount_type in (None, "percent") and (item.discount or ZERO) > 100:
        raise PermanentError(
            f"{subject}: a percent discount of {item.discount} is more than 100 %; fix it in "
            "Starweb admin, then retry"
        )
    name = _text(item.description) or sku
    gross = item.quantity * item.unit_price
    percent = item.discount_type in (None, "percent")
    reduction = gross * (item.discount or ZERO) / 100 if percent else item.discount or ZERO
    if gross >= 0 and reduction > gross:
        raise PermanentError(
            f"{subject}: the discount {reduction} is more than the row's total {gross}; fix "
            "the discount in Starweb admin, then retry"
        )
    if not sku and item.unit_price < 0:
        # An order-level discount (a "negative item" without SKU): one row, its net amount.
        return OrderLine(
            kind=LineKind.DISCOUNT,
            name=name or "Rabatt",
            quantity=Decimal(1),
            unit_price=round_money(gross - reduction),
            vat_rate=item.vat_rate,
        )
    if reduction < 0:
        # A percent discount on a negative (returned) quantity: fold it into the unit price,
        # since a canonical discount is never negative. The row's net amount is unchanged.
        unit_price = item.unit_price * (1 - (item.discount or ZERO) / 100)
        return OrderLine(
            sku=sku,
            name=name,
            quantity=item.quantity,
            unit_price=unit_price,
            vat_rate=item.vat_rate,
        )
    return OrderLine(
        sku=sku,
        name=name,
        quantity=item.quantity,
        unit_price=item.unit_price,
        vat_rate=item.vat_rate,
        discount=reduction,
    )


def _charge_line(
    order_id: int,
    kind: LineKind,
    amount: Decimal | None,
    rate: Decimal | None,
    names: tuple[str, str],
) -> list[OrderLine]:
    """Freight or payment fee as a row (none when zero); ``names`` = (wire field, label)."""
    field, label = names
    subject = f"Starweb order {order_id}"
    _check(subject, field, amount)
    _check(subject, field.replace("Cost", "VatRate").replace("Fee", "VatRate"), rate, rate=True)
    if not amount:
        return []
    if rate is None:
        raise PermanentError(
            f"Starweb order {order_id}: {field} is {amount} but its VAT rate is missing; set the "
            "VAT rate of the shipping/payment method in Starweb admin, then retry"
        )
    return [OrderLine(kind=kind, name=label, quantity=Decimal(1), unit_price=amount, vat_rate=rate)]


def map_order(order: OrderWire, status: str) -> Order:
    """The canonical order. ``status`` is the order's status code (``idCode`` or id)."""
    if order.items is None:
        raise PermanentError(
            f"Starweb order {order.order_id}: the answer has no items; the adapter asks for "
            "include=items, so check that base_url points at the Starweb API v2"
        )
    subject = f"Starweb order {order.order_id}"
    for field, value in (
        ("totalAmount", order.total_amount),
        ("totalVat", order.total_vat),
        ("amountToPay", order.amount_to_pay),
        ("amountPaid", order.amount_paid),
        ("shippingCost", order.shipping_cost),
        ("shippingVatRate", order.shipping_vat_rate),
        ("paymentFee", order.payment_fee),
        ("paymentVatRate", order.payment_vat_rate),
    ):
        _number(subject, field, value, MAX_AMOUNT)
    created_at = _utc(subject, "createdAt", order.created_at)
    modified_at = _utc(subject, "modifiedAt", order.modified_at)
    items = sorted(order.items.data, key=lambda i: (i.sort_index or 0, i.item_id or 0))
    lines = [_item_line(order.order_id, n, item) for n, item in enumerate(items, start=1)]
    lines += _charge_line(
        order.order_id,
        LineKind.FREIGHT,
        order.shipping_cost,
        order.shipping_vat_rate,
        ("shippingCost", _text(order.shipping_method_name) or "Frakt"),
    )
    lines += _charge_line(
        order.order_id,
        LineKind.FEE,
        order.payment_fee,
        order.payment_vat_rate,
        ("paymentFee", _text(order.payment_method_name) or "Avgift"),
    )
    extra = {
        "payment_method": _text(order.payment_method_name),
        "payment_method_code": _text(order.payment_method_id_code),
        "payment_status": _text(order.payment_status),
        "payment_reference": _text(order.payment_reference),
        "shipping_method": _text(order.shipping_method_name),
        "tracking_number": _text(order.shipping_tracking_no),
        "discount_code": _text(order.discount_code),
        "custom_info1": _text(order.custom_info1),
        "custom_info2": _text(order.custom_info2),
        "custom_info3": _text(order.custom_info3),
        "custom_info4": _text(order.custom_info4),
    }
    if order.external_services:
        for service in order.external_services.data:
            extra[f"external_service.{service.service_name}"] = _text(service.external_id_value)
    paid = order.amount_paid is not None and order.amount_paid >= order.amount_to_pay > 0
    return Order(
        shop_order_id=str(order.order_id),
        number=str(order.order_id),
        created_at=created_at,
        modified_at=modified_at,
        status=status,
        currency=order.currency_code,
        customer=_customer(order),
        lines=tuple(lines),
        total=order.amount_to_pay,
        total_vat=order.total_vat,
        paid=paid,
        extra={k: v for k, v in extra.items() if v},
    )
