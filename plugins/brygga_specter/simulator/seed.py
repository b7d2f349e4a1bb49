"""The simulator's starting catalog: helper articles, plain articles and a product with variants."""

from __future__ import annotations

from decimal import Decimal

from brygga.testing.democatalog import ARTICLES as CATALOG
from brygga.testing.democatalog import FEE_ARTICLES, SeedArticle

__all__ = ["CATALOG", "FEE_ARTICLES", "VARIANTS", "SeedArticle"]


#: (product, variant SKU, variant name, price): Specter keeps a variant structure
VARIANTS = (
    ("TROJA", "TROJA-S", "S", Decimal("299.00")),
    ("TROJA", "TROJA-M", "M", Decimal("299.00")),
    ("TROJA", "TROJA-L", "L", Decimal("299.00")),
)
