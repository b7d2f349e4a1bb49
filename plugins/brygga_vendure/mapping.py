"""Vendure orders (Admin API) to canonical orders.

- **Money.** Vendure keeps every amount as an integer in the currency's minor units
  (docs.vendure.io "Money & Currency"); ``minor / 100`` as a Decimal (the Nordic currencies
  and EUR have two decimals). ``total`` is ``totalWithTax``, ``total_vat`` is
  ``totalWithTax - total``.
- **Lines.** Each order line is an ITEM with the variant's SKU, ``unitPrice`` (excl. VAT,
  also on a channel whose prices include tax: Vendure derives the net price) and the line's
  ``taxRate``; ``discount`` is ``linePrice - proratedLinePrice``: the line's own promotions
  plus its share of order-level ones (Vendure prorates order discounts over the lines and
  computes the line's VAT from the prorated price).
- **Shipping** lines become FREIGHT lines: ``price`` excl. VAT, the discount
  ``price - discountedPrice``, the VAT rate derived from ``priceWithTax / price`` (Vendure
  has no rate field on shipping lines) and rounded to two decimals.
- **Surcharges** become FEE lines (a negative one a DISCOUNT line with its negative price).
- **Customer.** Vendure makes a Customer for a guest too; a customer without a ``user``
  (no account) is a guest (``shop_customer_id`` None). A billing address with a company
  name makes the customer a company. An empty billing address falls back to the shipping
  address.
- **Times.** ``created_at`` is ``orderPlacedAt`` (the checkout), ``modified_at`` is
  ``updatedAt``, the field the change feed filters on. On SQLite Vendure keeps ``updatedAt``
  to the second and it can be a second or two *earlier* than ``orderPlacedAt``; the daemon's
  watermark overlap covers that.
- **Paid** means the settled payments cover ``totalWithTax``.
- **Export mark**: see :mod:`brygga_vendure.adapter` (an ORDER_NOTE history entry).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from brygga.errors import PermanentError
from brygga.models import Address, Customer, CustomerKind, LineKind, Order, OrderLine
from brygga_vendure.wire import AddressWire, OrderWire

__all__ = [
    "EXPORT_NOTE_PREFIX",
    "export_note",
    "exported_number",
    "map_order",
    "minor",
    "parse_time",
    "to_minor",
    "vat",
]

#: how the export mark's note begins (the ERP document follows: ``invoice 1001``)
EXPORT_NOTE_PREFIX = "brygga exported as "
_NOTE = re.compile(r"^brygga exported as (invoice|order) (\S+)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CENT = Decimal("0.01")


def minor(amount: int) -> Decimal:
    """Minor units (öre, cents) as a Decimal amount."""
    return Decimal(amount) / 100


def to_minor(amount: Decimal) -> int:
    """A Decimal amount in minor units, rounded half up."""
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_time(value: str) -> datetime:
    """Vendure's ISO 8601 DateTime (``2026-12-03T06:49:01.123Z``) as aware UTC."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def export_note(document_type: str, number: str, reference: str) -> str:
    return f"{EXPORT_NOTE_PREFIX}{document_type} {number} (reference {reference})"


def exported_number(note: str) -> str:
    """The ERP document number an export note names, or ""."""
    match = _NOTE.match(note)
    return match.group(2) if match else ""


def _text(value: str | None) -> str:
    return _CONTROL.sub("", value or "").strip()


def _address(wire: AddressWire | None) -> Address | None:
    if wire is None or not (_text(wire.street_line1) or _text(wire.full_name)):
        return None
    country = _text(wire.country_code).upper()
    return Address(
        name=_text(wire.full_name),
        company=_text(wire.company),
        street=_text(wire.street_line1),
        street2=_text(wire.street_line2),
        postal_code=_text(wire.postal_code),
        city=_text(wire.city),
        country_code=country if re.fullmatch(r"[A-Z]{2}", country) else "",
        phone=_text(wire.phone_number),
    )


def vat(rate: float) -> Decimal:
    """A VAT rate Vendure sends as a JSON number (``25``, ``12.5``) as an exact Decimal."""
    value = Decimal(str(rate)).quantize(_CENT, rounding=ROUND_HALF_UP)
    return value.to_integral_value() if value == value.to_integral_value() else value.normalize()


def _rate(net: int, gross: int) -> Decimal:
    if net == 0:
        return Decimal(0)
    return vat(float((Decimal(gross) / Decimal(net) - 1) * 100))


def map_order(wire: OrderWire, *, shop: str, exported_as: str = "") -> Order:
    """The canonical order of a Vendure order (see the module notes)."""
    what = f"Vendure shop {shop}: order {wire.code} (id {wire.id})"
    lines: list[OrderLine] = []
    for line in wire.lines:
        sku = _text(line.product_variant.sku)
        if not sku:
            raise PermanentError(
                f"{what}: line {line.id} ({line.product_variant.name}) has a variant without "
                "an SKU; give the variant an SKU in Vendure so the ERP can match the article"
            )
        discount = line.line_price - line.prorated_line_price
        lines.append(
            OrderLine(
                kind=LineKind.ITEM,
                sku=sku,
                name=_text(line.product_variant.name),
                quantity=Decimal(line.quantity),
                unit_price=minor(line.unit_price),
                vat_rate=vat(line.tax_rate),
                discount=minor(max(discount, 0)),
            )
        )
        if discount < 0:  # a price raised by a promotion: keep the amount exact
            lines.append(
                OrderLine(
                    kind=LineKind.FEE,
                    name=f"{_text(line.product_variant.name)} adjustment",
                    quantity=Decimal(1),
                    unit_price=minor(-discount),
                    vat_rate=vat(line.tax_rate),
                )
            )
    for shipping in wire.shipping_lines:
        name = shipping.shipping_method.name if shipping.shipping_method else "Shipping"
        lines.append(
            OrderLine(
                kind=LineKind.FREIGHT,
                name=_text(name),
                quantity=Decimal(1),
                unit_price=minor(shipping.price),
                vat_rate=_rate(shipping.price, shipping.price_with_tax),
                discount=minor(max(shipping.price - shipping.discounted_price, 0)),
            )
        )
    for surcharge in wire.surcharges:
        lines.append(
            OrderLine(
                kind=LineKind.DISCOUNT if surcharge.price < 0 else LineKind.FEE,
                sku=_text(surcharge.sku),
                name=_text(surcharge.description),
                quantity=Decimal(1),
                unit_price=minor(surcharge.price),
                vat_rate=vat(surcharge.tax_rate),
            )
        )
    shipping_address = _address(wire.shipping_address)
    billing = _address(wire.billing_address) or shipping_address or Address()
    customer_wire = wire.customer
    if customer_wire is None:
        raise PermanentError(f"{what}: the order has no customer")
    name = " ".join(
        p for p in (_text(customer_wire.first_name), _text(customer_wire.last_name)) if p
    )
    customer = Customer(
        shop_customer_id=customer_wire.id if customer_wire.user is not None else None,
        kind=CustomerKind.COMPANY if billing.company else CustomerKind.PERSON,
        email=_text(customer_wire.email_address)[:254],
        name=billing.company or name or billing.name,
        billing=billing if billing.phone else _with_phone(billing, customer_wire.phone_number),
        shipping=shipping_address,
    )
    settled = sum(p.amount for p in wire.payments or () if p.state == "Settled")
    return Order(
        shop_order_id=wire.id,
        number=wire.code,
        created_at=parse_time(wire.order_placed_at or wire.created_at),
        modified_at=parse_time(wire.updated_at),
        status=wire.state,
        currency=wire.currency_code,
        customer=customer,
        lines=tuple(lines),
        total=minor(wire.total_with_tax),
        total_vat=minor(wire.total_with_tax - wire.total),
        paid=wire.total_with_tax > 0 and settled >= wire.total_with_tax,
        extra={"vendure_code": wire.code},
        exported_as=exported_as,
    )


def _with_phone(address: Address, phone: str | None) -> Address:
    phone = _text(phone)
    if not phone or address == Address():
        return address
    return Address(
        name=address.name,
        company=address.company,
        street=address.street,
        street2=address.street2,
        postal_code=address.postal_code,
        city=address.city,
        country_code=address.country_code,
        phone=phone,
    )
