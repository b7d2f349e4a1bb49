"""Canonical catalog records: articles (one per SKU), their stock levels and price-list prices."""

from __future__ import annotations

from decimal import Decimal

from brygga.models import AwareDatetime, Currency, NonEmpty, VatRate, _Model, check_vat_rate

__all__ = ["Article", "ArticleChange", "ListPrice", "StockLevel"]


class Article(_Model, frozen=True, kw_only=True):
    """One sellable SKU: a product without variants, or one variant of a product.

    Matched across systems on ``sku`` (the ERP's article number). Variants of one product
    share ``product_sku`` (the product's own SKU or article number; "" when the article stands
    alone); a side without variant structure keeps one article per variant SKU. Prices exclude
    VAT, in ``currency``; ``None`` means the source does not say (the target keeps its value).
    """

    sku: NonEmpty
    name: str
    product_sku: str = ""
    #: the variant's own name, e.g. "Storlek M" ("" for an article without variants)
    variant_name: str = ""
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
