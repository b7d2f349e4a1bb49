"""The simulator's starting catalog: helper articles, plain articles and a product with variants."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

__all__ = ["CATALOG", "FEE_ARTICLES", "VARIANTS", "SeedArticle"]


class SeedArticle(NamedTuple):
    sku: str
    name: str
    price: Decimal
    vat_rate: Decimal


FEE_ARTICLES = (
    SeedArticle("fraktavg", "Fraktavgift", Decimal(0), Decimal(25)),
    SeedArticle("expavg", "Expeditionsavgift", Decimal(0), Decimal(25)),
    SeedArticle("rabatt", "Rabatt", Decimal(0), Decimal(25)),
    SeedArticle("avrundning", "Öresavrundning", Decimal(0), Decimal(0)),
)
CATALOG = (
    SeedArticle("KAFFE-500", "Kaffe mellanrost 500 g", Decimal("89.00"), Decimal(25)),
    SeedArticle("MUGG-VIT", "Mugg vit", Decimal("119.20"), Decimal(25)),
    SeedArticle("TE-100", "Te Earl Grey 100 g", Decimal("45.00"), Decimal(12)),
    SeedArticle("CHOKLAD-70", "Choklad 70 %", Decimal("32.50"), Decimal(12)),
    SeedArticle("BOK-01", "Boken om kaffe", Decimal("199.00"), Decimal(6)),
    SeedArticle("TIDNING-12", "Kaffetidningen 12 nr", Decimal("59.00"), Decimal(6)),
)
#: (product, variant SKU, variant name, price): Specter keeps a variant structure
VARIANTS = (
    ("TROJA", "TROJA-S", "S", Decimal("299.00")),
    ("TROJA", "TROJA-M", "M", Decimal("299.00")),
    ("TROJA", "TROJA-L", "L", Decimal("299.00")),
)
