"""Starweb products and variants to canonical Articles and back: mapping, checks and diffs.

Every variant is its own :class:`~brygga.catalog.Article`, named with the product's name and the
variant's (its attribute values; :func:`brygga.catalog.variant_title`: "Tröja S").
``product_sku`` of a variant of a product with several variants is the product's ``externalId``
when set (brygga keeps the product's own SKU there when it creates one), else the primary
variant's SKU; a product with one variant gives ``product_sku`` "" unless its ``externalId``
names a group. Prices are the variant's ``priceExVat`` / ``specialPriceExVat`` in the chosen
price list: both exclude VAT (spec, ``ProductVariantPriceModel``), like
:class:`~brygga.catalog.Article`'s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from brygga.catalog import Article, variant_title
from brygga.errors import PermanentError
from brygga_starweb.catalog_wire import PricelistWire, ProductWire, VariantWire

__all__ = [
    "MAX_STOCK",
    "article_of",
    "check_article",
    "check_sku",
    "new_product_body",
    "new_variant_body",
    "price_body",
    "product_changes",
    "product_sku_of",
    "variant_changes",
    "vat_text",
]

#: ``stockQuantity`` bounds of ``ProductVariantStockPutRequestModel``
MAX_STOCK = Decimal(100_000_000)
#: a price beyond this is garbage, not a price
MAX_PRICE = Decimal(10) ** 12
#: ``ProductVariantModel.sku`` maxLength
MAX_SKU = 40


def _fix(sku: str) -> str:
    return f"fix it in Starweb admin (the article {sku})"


def _amount(subject: str, field: str, value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    if not value.is_finite() or not 0 <= value <= MAX_PRICE:
        raise PermanentError(
            f"{subject}: {field} {value} is not a price (it must be a number from 0 to "
            f"{MAX_PRICE}); fix it in Starweb admin, then retry"
        )
    return value


def vat_text(rate: Decimal) -> str:
    """``defaultVatRate`` as the spec types it, a string: ``Decimal("25.00")`` → ``"25"``."""
    return format(rate.normalize(), "f")


def check_sku(sku: str) -> None:
    """An SKU Starweb can hold (``sku`` maxLength 40, no surrounding whitespace)."""
    if not sku or sku != sku.strip() or len(sku) > MAX_SKU:
        raise PermanentError(
            f"SKU {sku!r} does not fit Starweb's variant SKU (1 to {MAX_SKU} characters, no "
            "leading or trailing spaces); change the article number at the source"
        )


#: ``ProductLanguageModel.name`` and ``ProductVariantModel.ean`` maxLength
MAX_NAME, MAX_EAN = 150, 20


def check_article(article: Article) -> None:
    """What Starweb would refuse with a bare 400, refused first with a sentence."""
    check_sku(article.sku)
    for field, value, limit in (("name", article.name, MAX_NAME), ("EAN", article.ean, MAX_EAN)):
        if len(value) > limit:
            raise PermanentError(
                f"SKU {article.sku}: the {field} is {len(value)} characters, Starweb takes at "
                f"most {limit}; shorten it at the source"
            )
    if article.weight is not None and (not article.weight.is_finite() or article.weight < 0):
        raise PermanentError(
            f"SKU {article.sku}: weight {article.weight} is not a weight in kg; fix it at the "
            "source"
        )


def product_sku_of(product: ProductWire, sku: str, several: bool) -> str:
    """The product's own SKU as brygga names it (see the module notes)."""
    group = (product.external_id or "").strip()
    if not group and several:
        primary = product.primary
        group = (primary.sku or "").strip() if primary else ""
    return "" if group == sku and not several else group


def article_of(
    product: ProductWire, variant: VariantWire, pricelist: PricelistWire, *, several: bool
) -> Article:
    """One variant as an Article. Bad shop data is a PermanentError naming the product, the
    variant and the fix (a variant without SKU cannot be matched with anything)."""
    where = f"Starweb product {product.product_id}"
    if variant.variant_id is not None:
        where += f", variant {variant.variant_id}"
    sku = (variant.sku or "").strip()
    if not sku:
        raise PermanentError(
            f"{where} has no SKU, so it cannot be matched with an article; give the variant "
            "an SKU (article number) in Starweb admin"
        )
    price = variant.price_in(pricelist.pricelist_id)
    listed = price.price_ex_vat if price else None
    special = price.special_price_ex_vat if price else None
    vat = product.default_vat_rate
    if vat is not None and (not vat.is_finite() or not 0 <= vat <= 100):
        raise PermanentError(
            f"{where} (SKU {sku}): defaultVatRate {vat} is not a VAT rate; {_fix(sku)}"
        )
    weight = variant.weight_in_kg
    if weight is not None and (not weight.is_finite() or weight < 0):
        raise PermanentError(f"{where} (SKU {sku}): weightInKg {weight} is not a weight")
    try:
        return Article(
            sku=sku,
            # a variant is named as a system without variants keeps it: "Tröja S"
            name=variant_title(product.name, variant.name) if several else product.name,
            product_sku=product_sku_of(product, sku, several),
            variant_name=variant.name if several else "",
            currency=pricelist.currency_code or "",
            price=_amount(f"{where} (SKU {sku})", "priceExVat", listed),
            campaign_price=_amount(f"{where} (SKU {sku})", "specialPriceExVat", special),
            vat_rate=vat,
            ean=(variant.ean or "").strip(),
            weight=weight,
            active=variant.is_active,
            modified_at=product.modified_at.astimezone(UTC),
        )
    except ValueError as exc:  # Article's own checks (currency, amounts)
        raise PermanentError(f"{where} (SKU {sku}): {exc}; {_fix(sku)}") from None


def price_body(pricelist_id: int, article: Article) -> dict[str, Any]:
    return {
        "pricelistId": pricelist_id,
        "priceExVat": article.price,
        "specialPriceExVat": article.campaign_price,
    }


def new_variant_body(article: Article, pricelist_id: int) -> dict[str, Any]:
    body: dict[str, Any] = {"sku": article.sku, "isActive": article.active}
    if article.ean:
        body["ean"] = article.ean
    if article.weight is not None:
        body["weightInKg"] = article.weight
    if article.price is not None:
        body["prices"] = [price_body(pricelist_id, article)]
    return body


def new_product_body(article: Article, pricelist_id: int, lang: str) -> dict[str, Any]:
    """``POST /products`` (``ProductModelUpdatable``): the product with its one variant and
    its price. Visible when the article is active (the spec's default is hidden); after
    creation the visibility is the merchant's."""
    body: dict[str, Any] = {
        "visibility": "visible" if article.active else "hidden",
        "languages": [{"langCode": lang, "name": article.name}],
        "variants": [new_variant_body(article, pricelist_id)],
    }
    if article.vat_rate is not None:
        body["defaultVatRate"] = vat_text(article.vat_rate)
    if article.product_sku and article.product_sku != article.sku:
        body["externalId"] = article.product_sku
    return body


def product_changes(product: ProductWire, article: Article) -> dict[str, Any]:
    """The product-level fields that differ: ``defaultVatRate`` (``None`` in the article:
    the source does not say, so the shop keeps its value)."""
    changes: dict[str, Any] = {}
    if article.vat_rate is not None and product.default_vat_rate != article.vat_rate:
        changes["defaultVatRate"] = vat_text(article.vat_rate)
    return changes


def variant_changes(variant: VariantWire, article: Article) -> dict[str, Any]:
    """The variant fields that differ (``PATCH /products/{id}/variants/{id}``)."""
    changes: dict[str, Any] = {}
    if variant.is_active != article.active:
        changes["isActive"] = article.active
    if (variant.ean or "").strip() != article.ean:
        changes["ean"] = article.ean
    if article.weight is not None and variant.weight_in_kg != article.weight:
        changes["weightInKg"] = article.weight
    return changes


def utc_seconds(when: datetime) -> str:
    """A filter timestamp at Starweb's resolution (whole seconds, floored: inclusive)."""
    return when.astimezone(UTC).replace(microsecond=0).isoformat()
