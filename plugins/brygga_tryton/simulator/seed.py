"""What a freshly set-up Tryton company holds (as brygga_tryton.realserver sets the real one
up): currency SEK (and EUR), the company, the admin user's preferences, VAT taxes 25/12/6 %,
a product category per rate (and a VAT-free one), the unit, a warehouse with its storage,
lost-and-found and customer locations, country SE."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from brygga_tryton.simulator.state import Database

__all__ = ["CATALOG", "FEE_ARTICLES", "RATES", "seed"]

RATES = (Decimal("25"), Decimal("12"), Decimal("6"))

#: (SKU, name, list price excl. VAT, VAT rate, stock): the catalog the other simulators
#: (Starweb, e-conomic) start with, so demo orders transfer cleanly
CATALOG: tuple[tuple[str, str, Decimal, Decimal, Decimal], ...] = (
    ("KAFFE-500", "Kaffe mellanrost 500 g", Decimal("89.00"), Decimal("25"), Decimal(100)),
    ("MUGG-VIT", "Mugg vit", Decimal("119.20"), Decimal("25"), Decimal(100)),
    ("TE-100", "Te Earl Grey 100 g", Decimal("45.00"), Decimal("12"), Decimal(100)),
    ("CHOKLAD-70", "Choklad 70 %", Decimal("32.50"), Decimal("12"), Decimal(100)),
    ("BOK-01", "Boken om kaffe", Decimal("199.00"), Decimal("6"), Decimal(100)),
    ("TIDNING-12", "Kaffetidningen 12 nr", Decimal("59.00"), Decimal("6"), Decimal(100)),
    ("TROJA-S", "Tröja S", Decimal("299.00"), Decimal("25"), Decimal(100)),
    ("TROJA-M", "Tröja M", Decimal("299.00"), Decimal("25"), Decimal(100)),
    ("TROJA-L", "Tröja L", Decimal("299.00"), Decimal("25"), Decimal(100)),
)
#: service products for freight, handling, discount and rounding rows (brygga's default fee
#: article numbers); Tryton takes a row's tax by its rate, so one article per kind will do
FEE_ARTICLES: tuple[tuple[str, str, Decimal, Decimal, Decimal], ...] = (
    ("fraktavg", "Frakt", Decimal(0), Decimal("25"), Decimal(0)),
    ("expavg", "Expeditionsavgift", Decimal(0), Decimal("25"), Decimal(0)),
    ("rabatt", "Rabatt", Decimal(0), Decimal("25"), Decimal(0)),
    ("avrundning", "Öresavrundning", Decimal(0), Decimal(0), Decimal(0)),
)


def seed(db: Database) -> dict[str, Any]:
    """Create the reference data; the ids the simulator needs."""
    ids: dict[str, Any] = {}
    ids["currency"] = db.insert("currency.currency", {"code": "SEK", "name": "Swedish krona"})
    db.insert("currency.currency", {"code": "EUR", "name": "Euro"})
    ids["company"] = db.insert("company.company", {"currency": ids["currency"]})
    ids["country"] = db.insert("country.country", {"code": "SE", "name": "Sweden"})
    ids["unit"] = db.insert("product.uom", {"symbol": "u", "name": "Unit"})
    ids["taxes"] = {}
    ids["category"] = {}
    for rate in RATES:
        tax = db.insert(
            "account.tax",
            {"name": f"Moms {rate} %", "type": "percentage", "rate": rate / 100, "parent": None},
        )
        ids["taxes"][rate] = tax
        ids["category"][rate] = db.insert(
            "product.category", {"name": f"Varor {rate} %", "customer_taxes_used": [tax]}
        )
    ids["category"][Decimal(0)] = db.insert(
        "product.category", {"name": "Momsfritt", "customer_taxes_used": []}
    )
    ids["storage"] = db.insert("stock.location", {"type": "storage", "code": "STO"})
    ids["warehouse"] = db.insert(
        "stock.location", {"type": "warehouse", "code": "WH", "storage_location": ids["storage"]}
    )
    ids["lost_found"] = db.insert("stock.location", {"type": "lost_found", "code": "LF"})
    ids["customer_location"] = db.insert("stock.location", {"type": "customer", "code": "CUS"})
    return ids
