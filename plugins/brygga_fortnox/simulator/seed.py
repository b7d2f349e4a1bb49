"""Seed data of the Fortnox simulator: helper articles, a small catalog and a price list."""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from brygga.testing import democatalog

__all__ = ["CATALOG", "HELPER_ARTICLES", "PRICE_LISTS", "VAT_RATES", "SeedArticle"]


class SeedArticle(NamedTuple):
    """One article: number, description, sales price excl. VAT, VAT rate in percent."""

    number: str
    description: str
    price: Decimal
    vat_rate: Decimal


#: the VAT rates a Swedish company has by default (reference §2.5, [3p F13]: 25/12/6 %, and
#: 0 % for VAT-free sales)
VAT_RATES = frozenset({Decimal(25), Decimal(12), Decimal(6), Decimal(0)})

#: the helper articles brygga's orders flow uses by default (FeeArticles in brygga.config)
HELPER_ARTICLES: list[SeedArticle] = [
    SeedArticle("fraktavg", "Frakt", Decimal("0"), Decimal(25)),
    SeedArticle("expavg", "Expeditionsavgift", Decimal("0"), Decimal(25)),
    SeedArticle("rabatt", "Rabatt", Decimal("0"), Decimal(25)),
    SeedArticle("avrundning", "Öresavrundning", Decimal("0"), Decimal(0)),
]

#: the catalog the shop simulators share (same SKUs, prices and VAT rates)
CATALOG: list[SeedArticle] = [SeedArticle(*article) for article in democatalog.CATALOG]

#: (code, description): "A" is the default price list every Fortnox company starts with
PRICE_LISTS = [("A", "Grundpris"), ("B", "Återförsäljare")]
