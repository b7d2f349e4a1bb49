"""Placing an order in the simulated shop as a checkout would: customer, addresses, the order,
its details (with their ``taxes`` association), carrier row and cart-rule rows, and totals
rounded per line (``round_type`` 2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from brygga_prestashop.simulator.state import Row, ShopState, cents, money

__all__ = ["Checkout", "place"]

ZERO = Decimal(0)


@dataclass(frozen=True)
class Checkout:
    """What a checkout holds: (reference, quantity) lines, buyer and charges (tax excl.)."""

    lines: Sequence[tuple[str, int]]
    email: str
    state_id: int
    freight: Decimal = ZERO
    discount_percent: Decimal = ZERO
    company: str = ""
    vat_number: str = ""
    name: str = ""
    guest: bool = False
    id_shop: int = 1


def _find_sku(state: ShopState, sku: str) -> tuple[Row, Row | None]:
    for combo in state.table("combinations").values():
        if combo["reference"] == sku:
            return state.get("products", int(combo["id_product"])), combo
    for product in state.table("products").values():
        if product["reference"] == sku:
            return product, None
    raise KeyError(f"no simulated product or combination with reference {sku!r}")


def _customer(state: ShopState, checkout: Checkout) -> int:
    for cid, row in state.table("customers").items():
        if row["email"] == checkout.email and row["is_guest"] == ("1" if checkout.guest else "0"):
            return cid
    first, _, last = (
        checkout.name or checkout.email.split("@")[0].replace(".", " ").title()
    ).partition(" ")
    now = state.now()
    return state.insert(
        "customers",
        {
            "id_default_group": "2" if checkout.guest else "3",
            "id_lang": "1",
            "newsletter": "0",
            "optin": "0",
            "email": checkout.email,
            "firstname": first,
            "lastname": last or first,
            "company": checkout.company,
            "siret": "",
            "is_guest": "1" if checkout.guest else "0",
            "active": "1",
            "date_add": now,
            "date_upd": now,
            "id_shop": str(checkout.id_shop),
            "birthday": "0000-00-00",
            "passwd": "$2y$10$simulated",
            "associations": {"groups": [{"id": "2" if checkout.guest else "3"}]},
        },
    )


def _address(state: ShopState, customer_id: int, checkout: Checkout) -> int:
    customer = state.get("customers", customer_id)
    now = state.now()
    return state.insert(
        "addresses",
        {
            "id_customer": str(customer_id),
            "id_country": "18",
            "id_state": "0",
            "alias": "Min adress",
            "company": checkout.company,
            "lastname": customer["lastname"],
            "firstname": customer["firstname"],
            "vat_number": checkout.vat_number,
            "address1": "Storgatan 1",
            "address2": "",
            "postcode": "111 22",
            "city": "Stockholm",
            "other": "",
            "phone": "070-123 45 67",
            "phone_mobile": "",
            "dni": "",
            "deleted": "0",
            "date_add": now,
            "date_upd": now,
        },
    )


def place(state: ShopState, checkout: Checkout) -> int:
    """Store the order and everything it links to; return its id."""
    if not checkout.lines:
        raise ValueError("an order needs at least one line")
    customer_id = _customer(state, checkout)
    address_id = _address(state, customer_id, checkout)
    now = state.now()
    order_id = state.new_id("orders")
    details: list[Row] = []
    items_by_rate: dict[Decimal, Decimal] = {}
    products_excl = products_incl = ZERO
    for sku, quantity in checkout.lines:
        if not isinstance(quantity, int) or quantity <= 0:
            raise ValueError(f"quantity of {sku} must be a positive int")
        product, combo = _find_sku(state, sku)
        tax_id = int(product["id_tax_rules_group"])
        rate = Decimal(state.get("taxes", tax_id)["rate"])
        unit = Decimal(product["price"]) + (Decimal(combo["price"]) if combo else ZERO)
        excl = cents(unit * quantity)
        incl = excl + cents(excl * rate / 100)
        items_by_rate[rate] = items_by_rate.get(rate, ZERO) + excl
        products_excl += excl
        products_incl += incl
        name = next(iter(product["name"].values()), "")
        details.append(
            {
                "id_order": str(order_id),
                "product_id": product["id"],
                "product_attribute_id": combo["id"] if combo else "0",
                "id_shop": str(checkout.id_shop),
                "id_warehouse": "0",
                "product_name": f"{name} - {sku}" if combo else name,
                "product_quantity": str(quantity),
                "product_quantity_in_stock": str(quantity),
                "product_quantity_refunded": "0",
                "product_quantity_return": "0",
                "product_quantity_reinjected": "0",
                "product_price": money(unit),
                "reduction_percent": "0.00",
                "reduction_amount": "0.000000",
                "reduction_amount_tax_incl": "0.000000",
                "reduction_amount_tax_excl": "0.000000",
                "group_reduction": "0.00",
                "product_ean13": "",
                "product_reference": sku,
                "product_mpn": "",
                "id_tax_rules_group": str(tax_id),
                "tax_computation_method": "0",
                "ecotax": "0.000000",
                "unit_price_tax_incl": money(unit * (1 + rate / 100)),
                "unit_price_tax_excl": money(unit),
                "total_price_tax_incl": money(incl),
                "total_price_tax_excl": money(excl),
                "total_shipping_price_tax_incl": "0.000000",
                "total_shipping_price_tax_excl": "0.000000",
                "original_product_price": money(unit),
                "associations": {"taxes": [{"id": str(tax_id)}]},
            }
        )
    shipping_excl = cents(checkout.freight)
    shipping_incl = shipping_excl + cents(shipping_excl * Decimal(25) / 100)
    discount_excl = discount_incl = ZERO
    if checkout.discount_percent:
        for rate, net in items_by_rate.items():
            part = cents(net * checkout.discount_percent / 100)
            discount_excl += part
            discount_incl += part + cents(part * rate / 100)
    paid_excl = products_excl + shipping_excl - discount_excl
    paid_incl = products_incl + shipping_incl - discount_incl
    state.table("orders")[order_id] = {
        "id": str(order_id),
        "id_address_delivery": str(address_id),
        "id_address_invoice": str(address_id),
        "id_cart": str(order_id),
        "id_currency": "1",
        "id_lang": "1",
        "id_customer": str(customer_id),
        "id_carrier": "2",
        "current_state": str(checkout.state_id),
        "module": "ps_wirepayment",
        "invoice_number": "0",
        "invoice_date": "0000-00-00 00:00:00",
        "delivery_number": "0",
        "delivery_date": "0000-00-00 00:00:00",
        "valid": state.get("order_states", checkout.state_id)["logable"],
        "date_add": now,
        "date_upd": now,
        "shipping_number": "",
        "note": "",
        "id_shop_group": "1",
        "id_shop": str(checkout.id_shop),
        "secure_key": "sim",
        "payment": "Bank wire",
        "recyclable": "0",
        "gift": "0",
        "gift_message": "",
        "mobile_theme": "0",
        "total_discounts": money(discount_incl),
        "total_discounts_tax_incl": money(discount_incl),
        "total_discounts_tax_excl": money(discount_excl),
        "total_paid": money(paid_incl),
        "total_paid_tax_incl": money(paid_incl),
        "total_paid_tax_excl": money(paid_excl),
        "total_paid_real": "0.000000",
        "total_products": money(products_excl),
        "total_products_wt": money(products_incl),
        "total_shipping": money(shipping_incl),
        "total_shipping_tax_incl": money(shipping_incl),
        "total_shipping_tax_excl": money(shipping_excl),
        "carrier_tax_rate": "25.000",
        "total_wrapping": "0.000000",
        "total_wrapping_tax_incl": "0.000000",
        "total_wrapping_tax_excl": "0.000000",
        "round_mode": "2",
        "round_type": "2",
        "conversion_rate": "1.000000",
        "reference": f"SIM{order_id:06d}",
    }
    for detail in details:
        state.insert("order_details", detail)
    state.insert(
        "order_carriers",
        {
            "id_order": str(order_id),
            "id_carrier": "2",
            "id_order_invoice": "0",
            "weight": "0.000000",
            "shipping_cost_tax_excl": money(shipping_excl),
            "shipping_cost_tax_incl": money(shipping_incl),
            "tracking_number": "",
            "date_add": now,
        },
    )
    if discount_excl:
        state.insert(
            "order_cart_rules",
            {
                "id_order": str(order_id),
                "id_cart_rule": "1",
                "id_order_invoice": "0",
                "name": f"Rabatt {checkout.discount_percent} %",
                "value": money(discount_incl),
                "value_tax_excl": money(discount_excl),
                "free_shipping": "0",
            },
        )
    return order_id
