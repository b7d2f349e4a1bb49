"""The catalog the ERP simulators start with: the demo's SKUs, prices excl. VAT and VAT rates."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

__all__ = ["ARTICLES", "CATALOG", "FEE_ARTICLES", "SIZES", "SeedArticle"]


class SeedArticle(NamedTuple):
    """One article: number (the shop's SKU), name, sales price excl. VAT, VAT rate in percent."""

    sku: str
    name: str
    price: Decimal
    vat_rate: Decimal


#: the articles without variants
ARTICLES = (
    SeedArticle("KAFFE-500", "Kaffe mellanrost 500 g", Decimal("89.00"), Decimal(25)),
    SeedArticle("MUGG-VIT", "Mugg vit", Decimal("119.20"), Decimal(25)),
    SeedArticle("TE-100", "Te Earl Grey 100 g", Decimal("45.00"), Decimal(12)),
    SeedArticle("CHOKLAD-70", "Choklad 70 %", Decimal("32.50"), Decimal(12)),
    SeedArticle("BOK-01", "Boken om kaffe", Decimal("199.00"), Decimal(6)),
    SeedArticle("TIDNING-12", "Kaffetidningen 12 nr", Decimal("59.00"), Decimal(6)),
)
#: the sweater's sizes, each an article of its own (for a system without variant structure)
SIZES = (
    SeedArticle("TROJA-S", "Tröja S", Decimal("299.00"), Decimal(25)),
    SeedArticle("TROJA-M", "Tröja M", Decimal("299.00"), Decimal(25)),
    SeedArticle("TROJA-L", "Tröja L", Decimal("299.00"), Decimal(25)),
)
#: every sellable article, the sizes as articles of their own
CATALOG = ARTICLES + SIZES
#: the helper articles of freight, handling-fee and discount rows (fraktavg, expavg, rabatt:
#: the project's defaults) and of the öre-rounding row
FEE_ARTICLES = (
    SeedArticle("fraktavg", "Fraktavgift", Decimal(0), Decimal(25)),
    SeedArticle("expavg", "Expeditionsavgift", Decimal(0), Decimal(25)),
    SeedArticle("rabatt", "Rabatt", Decimal(0), Decimal(25)),
    SeedArticle("avrundning", "Öresavrundning", Decimal(0), Decimal(0)),
)
