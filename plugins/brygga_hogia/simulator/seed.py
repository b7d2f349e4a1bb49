"""The Hogia simulator's starting articles: the three helper articles and the shop's catalog."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

__all__ = ["CATALOG", "HELPERS", "SeedArticle"]


class SeedArticle(NamedTuple):
    sku: str
    name: str
    price: Decimal
    vat_rate: Decimal


#: §4.1 [H1]: fraktavg, expavg and rabatt must exist; avrundning for öre rounding
HELPERS = (
    SeedArticle("fraktavg", "Fraktavgift", Decimal(0), Decimal(25)),
    SeedArticle("expavg", "Expeditionsavgift", Decimal(0), Decimal(25)),
    SeedArticle("rabatt", "Rabatt", Decimal(0), Decimal(25)),
    SeedArticle("avrundning", "Öresavrundning", Decimal(0), Decimal(0)),
)
#: no variant structure: each variant is an article of its own
CATALOG = (
    SeedArticle("KAFFE-500", "Kaffe mellanrost 500 g", Decimal("89.00"), Decimal(25)),
    SeedArticle("MUGG-VIT", "Mugg vit", Decimal("119.20"), Decimal(25)),
    SeedArticle("TE-100", "Te Earl Grey 100 g", Decimal("45.00"), Decimal(12)),
    SeedArticle("CHOKLAD-70", "Choklad 70 %", Decimal("32.50"), Decimal(12)),
    SeedArticle("BOK-01", "Boken om kaffe", Decimal("199.00"), Decimal(6)),
    SeedArticle("TIDNING-12", "Kaffetidningen 12 nr", Decimal("59.00"), Decimal(6)),
    SeedArticle("TROJA-S", "Tröja S", Decimal("299.00"), Decimal(25)),
    SeedArticle("TROJA-M", "Tröja M", Decimal("299.00"), Decimal(25)),
    SeedArticle("TROJA-L", "Tröja L", Decimal("299.00"), Decimal(25)),
)
