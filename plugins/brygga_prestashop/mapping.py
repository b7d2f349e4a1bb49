"""PrestaShop records (an order and what it links to, read at import) to a canonical Order.

- Lines come from ``order_details`` (§3.6 [PS5]): quantity ``product_quantity``, unit price
  ``unit_price_tax_excl``, SKU ``product_reference``; the VAT rate from the detail's ``taxes``
  association (``tax_rate`` is hidden from the webservice, [PS5][PS9]), else derived from
  ``total_price_tax_incl``/``_excl`` when that gives a whole or half percent.
- Freight: ``total_shipping_tax_excl`` at ``carrier_tax_rate``, named after the carrier.
- Gift wrapping: a fee row at the rate its incl/excl amounts give.
- Cart rules (``order_cart_rules``): discount rows, ``value_tax_excl`` split over the item
  VAT rates in proportion to the items' net amounts (one row per rate).
- Total ``total_paid_tax_incl``; VAT ``total_paid_tax_incl − total_paid_tax_excl`` (§7.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from brygga.errors import PermanentError
from brygga.models import Address, Customer, CustomerKind, LineKind, Order, OrderLine
from brygga_prestashop.wire import Record, get_decimal, get_id, get_text

__all__ = ["OrderParts", "map_order", "split_discount"]

ZERO = Decimal(0)
CENT = Decimal("0.01")
MAX_QUANTITY = Decimal(10) ** 9
MAX_EMAIL = 254


@dataclass
class OrderParts:
    """What the adapter read for one order (the address rows as they are at import)."""

    order: Record
    details: list[Record]
    tax_rates: dict[int, Decimal]
    customer: Record
    invoice: Record
    delivery: Record
    countries: dict[int, str]
    currency: str
    carrier: str
    cart_rules: list[Record]
    status: str
    paid: bool
    created_at: datetime
    modified_at: datetime
    exported_as: str = ""
    language: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _derived_rate(incl: Decimal, excl: Decimal, what: str) -> Decimal:
    """The VAT rate incl/excl amounts give, when it is a whole or half percent."""
    if excl == 0:
        return ZERO
    rate = (incl / excl - 1) * 100
    nearest = (rate * 2).quantize(Decimal(1), rounding=ROUND_HALF_UP) / 2
    if abs(rate - nearest) > Decimal("0.05") or not ZERO <= nearest <= 100:
        raise PermanentError(
            f"{what}: no VAT rate fits its amounts ({incl} incl., {excl} excl. VAT); give "
            "the row a tax rule in PrestaShop, then retry"
        )
    return nearest


def _item(order_id: int, number: int, detail: Record, parts: OrderParts) -> OrderLine:
    name = get_text(detail, "product_name", f"PrestaShop order {order_id}, row {number}")
    sku = get_text(detail, "product_reference", f"PrestaShop order {order_id}, row {number}")
    what = f"PrestaShop order {order_id}, row {number} ({name[:40] or sku or 'no name'})"
    quantity = get_decimal(detail, "product_quantity", what)
    if not ZERO < quantity <= MAX_QUANTITY or quantity != quantity.to_integral_value():
        raise PermanentError(
            f"{what}: product_quantity is {quantity}, not a whole number from 1 to "
            f"{MAX_QUANTITY:,}; correct the order in the PrestaShop back office, then retry"
        )
    unit = get_decimal(detail, "unit_price_tax_excl", what)
    if unit < 0:
        raise PermanentError(
            f"{what}: unit_price_tax_excl is {unit}, a negative price; correct the order in "
            "PrestaShop, then retry"
        )
    if not sku:
        raise PermanentError(
            f"{what}: the row has no product reference (SKU), so no ERP article can be "
            "matched; set the reference on the product or combination in PrestaShop, then "
            "retry"
        )
    assoc = detail.get("associations")
    taxes = assoc.get("taxes") if isinstance(assoc, dict) else None
    if isinstance(taxes, list) and taxes:
        if len(taxes) > 1 or not isinstance(taxes[0], dict):
            raise PermanentError(
                f"{what}: the row has {len(taxes)} taxes; brygga takes one VAT rate per row, "
                "so give the product a tax rule with a single tax, then retry"
            )
        tax_id = get_id(taxes[0], "id", f"{what}: its taxes association")
        if tax_id not in parts.tax_rates:
            raise PermanentError(
                f"{what}: its tax {tax_id} does not exist in the shop; fix the product's tax "
                "rule in PrestaShop, then retry"
            )
        rate = parts.tax_rates[tax_id]
    else:
        rate = _derived_rate(
            get_decimal(detail, "total_price_tax_incl", what),
            get_decimal(detail, "total_price_tax_excl", what),
            what,
        )
    if not ZERO <= rate <= 100:
        raise PermanentError(
            f"{what}: VAT rate {rate} is not a percentage; fix the tax in PrestaShop"
        )
    return OrderLine(sku=sku, name=name or sku, quantity=quantity, unit_price=unit, vat_rate=rate)


def split_discount(amount: Decimal, nets: dict[Decimal, Decimal]) -> list[tuple[Decimal, Decimal]]:
    """``amount`` (excl. VAT) split over VAT rates in proportion to ``nets``: (rate, part),
    rounded to cents, the remainder on the largest part."""
    total = sum(nets.values(), ZERO)
    if total <= 0 or len(nets) == 1:
        rate = next(iter(nets), ZERO)
        return [(rate, amount)]
    parts = [(rate, _money(amount * net / total)) for rate, net in nets.items()]
    rest = amount - sum((p for _, p in parts), ZERO)
    biggest = max(range(len(parts)), key=lambda i: parts[i][1])
    rate, part = parts[biggest]
    parts[biggest] = (rate, part + rest)
    return [p for p in parts if p[1]]


def _charges(order_id: int, parts: OrderParts, items: list[OrderLine]) -> list[OrderLine]:
    order, what = parts.order, f"PrestaShop order {order_id}"
    lines = []
    shipping = get_decimal(order, "total_shipping_tax_excl", what, required=False)
    if shipping < 0:
        raise PermanentError(
            f"{what}: total_shipping_tax_excl is {shipping}, negative; correct the order's "
            "shipping in PrestaShop, then retry"
        )
    if shipping:
        rate = get_decimal(order, "carrier_tax_rate", what, required=False)
        if not ZERO <= rate <= 100:
            raise PermanentError(
                f"{what}: carrier_tax_rate {rate} is not a percentage; fix the carrier's tax "
                "rule in PrestaShop, then retry"
            )
        lines.append(
            OrderLine(
                kind=LineKind.FREIGHT,
                name=parts.carrier or "Frakt",
                quantity=Decimal(1),
                unit_price=shipping,
                vat_rate=rate,
            )
        )
    wrapping = get_decimal(order, "total_wrapping_tax_excl", what, required=False)
    if wrapping:
        incl = get_decimal(order, "total_wrapping_tax_incl", what, required=False)
        lines.append(
            OrderLine(
                kind=LineKind.FEE,
                name="Presentinslagning",
                quantity=Decimal(1),
                unit_price=wrapping,
                vat_rate=_derived_rate(incl, wrapping, f"{what}, wrapping"),
            )
        )
    nets: dict[Decimal, Decimal] = {}
    for line in items:
        nets[line.vat_rate] = nets.get(line.vat_rate, ZERO) + line.net_amount
    for number, rule in enumerate(parts.cart_rules, start=1):
        rule_what = f"{what}, cart rule {number}"
        if "__bad__" in rule:
            raise PermanentError(f"{rule_what}: the row is not an object; check the order")
        name = get_text(rule, "name", rule_what, language=parts.language) or "Rabatt"
        value = get_decimal(rule, "value_tax_excl", f"{rule_what} ({name[:40]})")
        if value < 0:
            raise PermanentError(
                f"{rule_what} ({name[:40]}): value_tax_excl is {value}, negative; fix the cart "
                "rule on the order in PrestaShop, then retry"
            )
        for rate, part in split_discount(value, nets or {Decimal(25): ZERO}):
            lines.append(
                OrderLine(
                    kind=LineKind.DISCOUNT,
                    name=name,
                    quantity=Decimal(1),
                    unit_price=-part,
                    vat_rate=rate,
                )
            )
    return lines


def _address(record: Record, countries: dict[int, str], what: str) -> Address:
    if not record:
        return Address()
    name = " ".join(
        p for p in (get_text(record, "firstname", what), get_text(record, "lastname", what)) if p
    )
    country_id = get_id(record, "id_country", what) if record.get("id_country") else 0
    return Address(
        name=name,
        company=get_text(record, "company", what),
        street=get_text(record, "address1", what),
        street2=get_text(record, "address2", what),
        postal_code=get_text(record, "postcode", what),
        city=get_text(record, "city", what),
        country_code=countries.get(country_id, ""),
        phone=get_text(record, "phone", what) or get_text(record, "phone_mobile", what),
    )


def _customer(order_id: int, parts: OrderParts) -> Customer:
    what = f"PrestaShop order {order_id}, customer"
    record = parts.customer
    billing = _address(
        parts.invoice, parts.countries, f"PrestaShop order {order_id}, invoice address"
    )
    shipping = _address(
        parts.delivery, parts.countries, f"PrestaShop order {order_id}, delivery address"
    )
    email = get_text(record, "email", what)
    if len(email) > MAX_EMAIL or (email and "@" not in email):
        raise PermanentError(
            f"{what}: the e-mail {email[:40]!r} is not a valid e-mail address; fix the "
            "customer in the PrestaShop back office, then retry"
        )
    company = billing.company or get_text(record, "company", what)
    vat_number = get_text(parts.invoice, "vat_number", what) if parts.invoice else ""
    guest = get_text(record, "is_guest", what) == "1"
    person = " ".join(
        p for p in (get_text(record, "firstname", what), get_text(record, "lastname", what)) if p
    )
    return Customer(
        shop_customer_id=None if guest else str(get_id(record, "id", what)),
        kind=CustomerKind.COMPANY if company else CustomerKind.PERSON,
        email=email,
        name=company or billing.name or person,
        org_number=get_text(record, "siret", what) if company else "",
        vat_number=vat_number,
        billing=billing,
        shipping=shipping if shipping != Address() else None,
    )


def map_order(order_id: int, parts: OrderParts) -> Order:
    """The canonical order (see the module notes)."""
    what = f"PrestaShop order {order_id}"
    if not parts.details:
        raise PermanentError(
            f"{what}: the order has no rows (order_details); check the order in the "
            "PrestaShop back office, then retry"
        )
    items = []
    for number, detail in enumerate(parts.details, start=1):
        if "__bad__" in detail:
            raise PermanentError(f"{what}, row {number}: the row is not an object; check the order")
        items.append(_item(order_id, number, detail, parts))
    lines = items + _charges(order_id, parts, items)
    total = get_decimal(parts.order, "total_paid_tax_incl", what)
    excl = get_decimal(parts.order, "total_paid_tax_excl", what)
    if total < 0 or excl < 0 or excl > total:
        raise PermanentError(
            f"{what}: total_paid_tax_incl {total} and total_paid_tax_excl {excl} do not make "
            "a valid total; correct the order in PrestaShop, then retry"
        )
    return Order(
        shop_order_id=str(order_id),
        number=get_text(parts.order, "reference", what) or str(order_id),
        created_at=parts.created_at,
        modified_at=parts.modified_at,
        status=parts.status,
        currency=parts.currency,
        customer=_customer(order_id, parts),
        lines=tuple(lines),
        total=total,
        total_vat=total - excl,
        paid=parts.paid,
        note=get_text(parts.order, "note", what),
        extra={k: v for k, v in parts.extra.items() if v},
        exported_as=parts.exported_as,
    )
