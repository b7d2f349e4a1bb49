"""Seed data: the shared catalog (same SKUs, prices and VAT as the e-conomic simulator),
order states as a default PrestaShop install names them, taxes, carriers, countries."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

__all__ = ["CARRIERS", "COUNTRIES", "ORDER_STATES", "PRODUCTS", "TAXES", "SeedProduct"]


class SeedProduct(NamedTuple):
    """A product (tax excl. base price) and its combinations as (reference, price impact)."""

    reference: str
    name: str
    price: Decimal
    vat_rate: Decimal
    combinations: tuple[tuple[str, Decimal], ...] = ()


PRODUCTS: tuple[SeedProduct, ...] = (
    SeedProduct("KAFFE-500", "Kaffe mellanrost 500 g", Decimal("89.00"), Decimal("25")),
    SeedProduct("MUGG-VIT", "Mugg vit", Decimal("119.20"), Decimal("25")),
    SeedProduct("TE-100", "Te Earl Grey 100 g", Decimal("45.00"), Decimal("12")),
    SeedProduct("CHOKLAD-70", "Choklad 70 %", Decimal("32.50"), Decimal("12")),
    SeedProduct("BOK-01", "Boken om kaffe", Decimal("199.00"), Decimal("6")),
    SeedProduct("TIDNING-12", "Kaffetidningen 12 nr", Decimal("59.00"), Decimal("6")),
    # a combination's price is an impact on the base price (§3.6 [PS14]): 279 + 20 = 299
    SeedProduct(
        "TROJA",
        "Tröja",
        Decimal("279.00"),
        Decimal("25"),
        (("TROJA-S", Decimal("20")), ("TROJA-M", Decimal("20")), ("TROJA-L", Decimal("20"))),
    ),
)

#: id → (name, paid, shipped, delivery, logable, send_email); a default install's states
ORDER_STATES: dict[int, tuple[str, bool, bool, bool, bool, bool]] = {
    1: ("Awaiting check payment", False, False, False, False, True),
    2: ("Payment accepted", True, False, False, True, True),
    3: ("Processing in progress", True, False, False, True, True),
    4: ("Shipped", True, True, False, True, True),
    5: ("Delivered", True, True, True, True, True),
    6: ("Canceled", False, False, False, False, True),
    7: ("Refunded", True, False, False, False, True),
    8: ("Payment error", False, False, False, False, True),
    10: ("Awaiting bank wire payment", False, False, False, False, True),
}

#: tax id → (rate, name); Swedish VAT
TAXES: dict[int, tuple[Decimal, str]] = {
    1: (Decimal("25.000"), "Moms SE 25%"),
    2: (Decimal("12.000"), "Moms SE 12%"),
    3: (Decimal("6.000"), "Moms SE 6%"),
}

#: id → name
CARRIERS: dict[int, str] = {1: "Hämta i butik", 2: "PostNord MyPack"}

#: id → (ISO code, name)
COUNTRIES: dict[int, tuple[str, str]] = {18: ("SE", "Sverige"), 23: ("NO", "Norge")}
