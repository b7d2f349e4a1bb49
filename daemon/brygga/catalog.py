"""Canonical catalog records: articles (one per SKU), their stock levels and price-list prices.

Variant names (one rule, here): a variant that is its own article is named as a system without
variants shows it, the product's name and the variant's, ``"Tröja" + "S" -> "Tröja S"``
(:func:`variant_title`). A system with variants gets the product's name back with
:func:`product_title` (``"Tröja S"`` less its variant name ``"S"`` -> ``"Tröja"``). Both are
idempotent, so a name that goes round (shop -> ERP -> shop -> ERP) never grows: a name that
already ends with its variant's name is kept as it is.
"""

from __future__ import annotations

from decimal import Decimal

from brygga.models import AwareDatetime, Currency, NonEmpty, VatRate, _Model, check_vat_rate

__all__ = [
    "Article",
    "ArticleChange",
    "ListPrice",
    "StockLevel",
    "product_title",
    "variant_title",
]


def _ends_with_variant(name: str, variant: str) -> bool:
    folded, tail = name.casefold(), variant.casefold()
    return folded == tail or folded.endswith(" " + tail)


def variant_title(name: str, variant_name: str) -> str:
    """A variant's name as a system without variants keeps it: the product's ``name``, a space
    and the ``variant_name`` (``"Tröja", "S"`` -> ``"Tröja S"``; ``"Tröja", "Blå / M"`` ->
    ``"Tröja Blå / M"``). A name that already ends with the variant's name (case-insensitive,
    after a space) is returned as it is, so the rule applied twice changes nothing."""
    variant = variant_name.strip()
    if not variant or _ends_with_variant(name.rstrip(), variant):
        return name
    return f"{name.rstrip()} {variant}" if name.strip() else variant


def product_title(name: str, variant_name: str) -> str:
    """The product's name in a variant's name made by :func:`variant_title`: ``"Tröja S", "S"``
    -> ``"Tröja"``. A name that does not end with the variant's name is the product's name as it
    is (``"Tröja", "S"`` -> ``"Tröja"``)."""
    variant, stripped = variant_name.strip(), name.rstrip()
    if not variant or stripped.casefold() == variant.casefold():
        return name
    if stripped.casefold().endswith(" " + variant.casefold()):
        return stripped[: -len(variant)].rstrip()
    return name


class Article(_Model, frozen=True, kw_only=True):
    """One sellable SKU: a product without variants, or one variant of a product.

    Matched across systems on ``sku`` (the ERP's article number). Variants of one product
    share ``product_sku`` (the product's own SKU or article number; "" when the article stands
    alone); a side without variant structure keeps one article per variant SKU. Prices exclude
    VAT, in ``currency``; ``None`` means the source does not say (the target keeps its value).

    ``name`` of a variant is its name as a system without variants keeps it, the product's
    name and the variant's (:func:`variant_title`: "Tröja S"); a system with variants names
    its product with :func:`product_title`. ``has_variants`` marks the record of a product
    whose variants are articles of their own (Specter's parent item): it names the product
    (name, VAT rate, active) for a system that keeps products, but it is no sellable article:
    it carries no price, no stock of its own goes to a shop, and a shop never makes it a
    variant of itself.
    """

    sku: NonEmpty
    name: str
    product_sku: str = ""
    #: the variant's own name, e.g. "S" or "Storlek: M" ("" for an article without variants)
    variant_name: str = ""
    #: the product's own record, not a sellable article: its variants are the articles
    has_variants: bool = False
    currency: Currency
    price: Decimal | None = None
    #: a reduced (campaign) price, excluding VAT; None: no campaign
    campaign_price: Decimal | None = None
    vat_rate: VatRate | None = None
    ean: str = ""
    #: kilograms
    weight: Decimal | None = None
    active: bool = True
    modified_at: AwareDatetime

    def __post_init__(self) -> None:
        if self.vat_rate is not None:
            check_vat_rate(self.vat_rate)
        for label, amount in (("price", self.price), ("campaign_price", self.campaign_price)):
            if amount is not None and amount < 0:
                raise ValueError(f"{label} must not be negative, got {amount}")


class ArticleChange(_Model, frozen=True, kw_only=True):
    """An article a source's change feed reports as changed since the cursor."""

    sku: NonEmpty
    modified_at: AwareDatetime


class StockLevel(_Model, frozen=True, kw_only=True):
    """What a stock source says of one SKU: ``quantity`` is what it can sell (for an ERP, its
    available quantity before the orders it has not booked yet are taken off)."""

    sku: NonEmpty
    quantity: Decimal
    modified_at: AwareDatetime


class ListPrice(_Model, frozen=True, kw_only=True):
    """One SKU's price in a customer-group price list, excluding VAT."""

    price_list: NonEmpty
    sku: NonEmpty
    currency: Currency
    price: Decimal
    #: the price applies from this quantity on (volume price); 1 for an ordinary list price
    min_quantity: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if self.price < 0:
            raise ValueError(f"price must not be negative, got {self.price}")
