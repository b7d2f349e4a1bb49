"""The simulated client's starting catalog: a few SKUs with prices and stock."""

from __future__ import annotations

from decimal import Decimal

from brygga_norce.simulator.records import SimOnhand, SimPrice, SimSku

__all__ = ["LOCATION", "PRICE_LIST", "WAREHOUSE", "seed_skus"]

PRICE_LIST = "SEK-BAS"
WAREHOUSE = "MAIN"
LOCATION = "A1"

_SEED = [
    ("KAFFE-500", "Kaffe 500 g", "79.20", "12"),
    ("TE-100", "Te 100 g", "49.60", "12"),
    ("MUGG-1", "Mugg", "124.00", "25"),
    ("KANNA-2", "Kanna", "396.00", "25"),
]


def seed_skus() -> dict[str, SimSku]:
    """Four SKUs, each with 10 on hand in MAIN/A1 and a SEK price in the base list."""
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
