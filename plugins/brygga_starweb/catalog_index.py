"""Where each SKU lives in a Starweb shop: product ids by variant SKU and by product group key.

Starweb finds a product by SKU only through ``filterSku``, and whether that matches other
variants than the primary one is not documented (reference/shop-apis.md §2.5). So the
adapter keeps this index, built by one walk over the product list (and the variants of every
product with several), and brought up to date before every lookup that misses by a read of
the products changed since the newest one it holds (``updatedSince``, inclusive).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["SkuIndex"]


@dataclass
class SkuIndex:
    """``skus``: variant SKU → product id; ``groups``: product group key (``externalId``, or
    the primary variant's SKU of a product with several variants) → product id."""

    skus: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    #: the newest product ``modifiedAt`` seen (the next refresh reads from here on)
    newest: datetime | None = None

    def add(
        self,
        product_id: int,
        skus: list[str],
        group: str,
        modified_at: datetime | None,
    ) -> None:
        for sku in skus:
            self.skus[sku] = product_id
        if group:
            self.groups[group] = product_id
        if modified_at is not None and (self.newest is None or modified_at > self.newest):
            self.newest = modified_at

    def forget(self, sku: str) -> None:
        self.skus.pop(sku, None)
