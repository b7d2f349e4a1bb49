"""A variant's Starweb attribute and value, read from the article's ``variant_name``.

Starweb gives every variant of a product with several variants ``attributeValueLinks``:
ids of attribute values (``/product-attributes/{attributeId}/values``), each value under an
attribute such as "Storlek" (spec 2.12.0: ``ProductVariantModel``,
``ProductVariantAttributeModel``, ``ProductVariantAttributeValueModel``; reference/shop-apis.md
§2). brygga reads the pair from ``variant_name`` in this order, and nothing else:

1. ``"Attribute: value"`` (a colon): that attribute and value, e.g. "Storlek: M".
2. ``"Word rest"`` whose first word names an attribute the shop has (case-insensitive): that
   attribute, the rest as value, e.g. "Storlek M" or "Färg Mörk blå" when "Färg" exists.
3. With ``variant_attribute`` configured: the whole name as a value of that attribute.
4. Two words: the first as attribute, the second as value (e.g. "Storlek M" in a shop
   without attributes yet).

Anything else (one word or three words with no configured attribute, an empty name) is
not guessed: the article fails with a sentence naming its SKU and the fix.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["attribute_and_value", "same_name", "unmappable"]


def same_name(a: str, b: str) -> bool:
    """Starweb names compared as brygga reuses them: case-insensitive, spaces collapsed."""
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def attribute_and_value(
    variant_name: str, default_attribute: str, known_attributes: Iterable[str]
) -> tuple[str, str] | None:
    """The (attribute, value) names for ``variant_name``, or None when it cannot be read
    without guessing (see the module's rules)."""
    name = " ".join(variant_name.split())
    if not name:
        return None
    if ":" in name:
        attribute, _, value = name.partition(":")
        attribute, value = attribute.strip(), value.strip()
        return (attribute, value) if attribute and value else None
    first, _, rest = name.partition(" ")
    if rest and any(same_name(first, known) for known in known_attributes):
        return first, rest
    default = default_attribute.strip()
    if default:
        return default, name
    if rest and " " not in rest:
        return first, rest
    return None


def unmappable(sku: str, variant_name: str, product_sku: str) -> str:
    """The sentence for a variant whose attribute value cannot be read from its name."""
    shown = repr(variant_name) if variant_name.strip() else "empty"
    return (
        f"SKU {sku}: it is a further variant of product {product_sku}, and Starweb needs an "
        f"attribute value for it, but its variant name ({shown}) does not say which; give "
        "the variant a name like 'Storlek: M' at the source, or set variant_attribute (e.g. "
        '"Variant") in the Starweb adapter config so the whole name becomes a value of '
        "that attribute"
    )
