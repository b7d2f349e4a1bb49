"""The simulated client's starting catalog: a few SKUs with prices and stock."""

from __future__ import annotations

from decimal import Decimal

from brygga_norce.simulator.records import SimOnhand, SimPrice, SimSku

__all__ = ["CURRENCY_IDS", "LOCATION", "PRICE_LIST", "WAREHOUSE", "seed_skus"]

PRICE_LIST = "SEK-BAS"
WAREHOUSE = "MAIN"
LOCATION = "A1"
#: Norce's internal currency ids (the Query rows carry ``CurrencyId``, never a code)
CURRENCY_IDS = {"SEK": 1, "EUR": 2, "NOK": 3, "DKK": 4, "USD": 5}

#: the articles the e-conomic simulator has too, so orders transfer in end-to-end tests
_SEED = [
    ("KAFFE-500", "Kaffe mellanrost 500 g", "89.00", "25"),
    ("TE-100", "Te Earl Grey 100 g", "45.00", "12"),
    ("MUGG-VIT", "Mugg vit", "119.20", "25"),
]


def seed_skus() -> dict[str, SimSku]:
    """Three SKUs, each with 10 on hand in MAIN/A1 and a SEK price in the base list."""
    skus = {}
    for part_no, name, price, rate in _SEED:
        skus[part_no] = SimSku(
            part_no=part_no,
            name=name,
            price=Decimal(price),
            vat_rate=Decimal(rate),
            onhands=[SimOnhand(WAREHOUSE, LOCATION, Decimal(10))],
            prices=[SimPrice(PRICE_LIST, "SEK", Decimal(price))],
        )
    return skus
