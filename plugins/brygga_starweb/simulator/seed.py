"""The simulator's seed catalog: plain data, shared with the e-conomic simulator's articles."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["SEED_CATALOG", "SeedArticle"]


@dataclass(frozen=True)
class SeedArticle:
    """One sellable SKU. ``product`` groups variants of one product; prices are SEK excl. VAT."""

    sku: str
    name: str
    vat_rate: Decimal
    price: Decimal
    product: str
    variant: str = ""


SEED_CATALOG: tuple[SeedArticle, ...] = (
    SeedArticle(
        "KAFFE-500", "Kaffe mellanrost 500 g", Decimal("25"), Decimal("89.00"), "KAFFE-500"
    ),
    SeedArticle("MUGG-VIT", "Mugg vit", Decimal("25"), Decimal("119.20"), "MUGG-VIT"),
    SeedArticle("TE-100", "Te Earl Grey 100 g", Decimal("12"), Decimal("45.00"), "TE-100"),
    SeedArticle("CHOKLAD-70", "Choklad 70 %", Decimal("12"), Decimal("32.50"), "CHOKLAD-70"),
    SeedArticle("BOK-01", "Boken om kaffe", Decimal("6"), Decimal("199.00"), "BOK-01"),
    SeedArticle("TIDNING-12", "Kaffetidningen 12 nr", Decimal("6"), Decimal("59.00"), "TIDNING-12"),
    SeedArticle("TROJA-S", "Tröja", Decimal("25"), Decimal("299.00"), "TROJA", "S"),
    SeedArticle("TROJA-M", "Tröja", Decimal("25"), Decimal("299.00"), "TROJA", "M"),
    SeedArticle("TROJA-L", "Tröja", Decimal("25"), Decimal("299.00"), "TROJA", "L"),
)
