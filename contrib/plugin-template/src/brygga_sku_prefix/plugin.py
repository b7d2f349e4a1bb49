"""The plugin's hooks: two order mappings and a products mapping, configured from
``[plugins.sku_prefix]``.

Options (all optional)::

    [plugins.sku_prefix]
    prefix = "SE-"          # put in front of every item SKU (already prefixed SKUs are kept)
    skip_tag = "no-erp"     # orders carrying this tag are skipped, not sent to the ERP
    tag_field = "tags"      # the order field holding the tags, comma separated (see below)
    shops = ["se"]          # only these shops (default: every shop)
    name_prefix = "WEB "    # products: taken off the ERP's article names on their way to a shop
    internal_mark = "(intern)"  # products: ERP articles whose name has it never reach a shop

The products mapping shows a catalog mapping: it receives the :class:`brygga.catalog.Article`
about to be written (the ``MappingContext`` says from where to where: ``source``, ``target``,
``shop``, ``erp``) and acts only on the way from the ERP to a shop.

Canonical orders have no tag list of their own, so the tags are read from one entry of
``Order.extra`` (the field the shop adapter fills with extra order data; the Starweb adapter
offers e.g. ``custom_info1`` .. ``custom_info4`` and ``discount_code``). Tags are compared
without regard to case or surrounding spaces.

This module imports nothing but brygga, so it can also be loaded by path in tests. Hooks are
synchronous and do no I/O, as brygga requires.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from brygga.catalog import Article
from brygga.errors import PluginError
from brygga.hookspecs import hookimpl
from brygga.mappings import Mapping, MappingContext, Skip
from brygga.models import LineKind, Order, Register

__all__ = [
    "PLUGIN_NAME",
    "Settings",
    "brygga_register_mappings",
    "brygga_startup",
    "order_tags",
    "prefix_skus",
    "shop_name",
]

#: the entry point name in pyproject.toml, and so the key of our ``[plugins.<name>]`` table
PLUGIN_NAME = "sku_prefix"


@dataclass(frozen=True)
class Settings:
    prefix: str = ""
    skip_tag: str = "no-erp"
    tag_field: str = "tags"
    shops: tuple[str, ...] = ()
    name_prefix: str = ""
    internal_mark: str = ""

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> Settings:
        """Validate the ``[plugins.sku_prefix]`` table; PluginError names the bad option."""
        known = {"prefix", "skip_tag", "tag_field", "shops", "name_prefix", "internal_mark"}
        unknown = sorted(set(table) - known)
        if unknown:
            raise PluginError(
                f"[plugins.{PLUGIN_NAME}]: unknown option {unknown[0]!r} "
                f"(allowed: {', '.join(sorted(known))})"
            )
        for key in ("prefix", "skip_tag", "tag_field", "name_prefix", "internal_mark"):
            if key in table and not isinstance(table[key], str):
                raise PluginError(f"[plugins.{PLUGIN_NAME}].{key}: expected a string")
        shops = table.get("shops", [])
        if not isinstance(shops, list) or not all(isinstance(s, str) for s in shops):
            raise PluginError(f"[plugins.{PLUGIN_NAME}].shops: expected a list of shop names")
        return cls(
            prefix=table.get("prefix", cls.prefix),
            skip_tag=table.get("skip_tag", cls.skip_tag),
            tag_field=table.get("tag_field", cls.tag_field),
            shops=tuple(shops),
            name_prefix=table.get("name_prefix", cls.name_prefix),
            internal_mark=table.get("internal_mark", cls.internal_mark),
        )

    def applies_to(self, context: MappingContext) -> bool:
        return not self.shops or context.shop in self.shops


@dataclass
class _State:
    """What ``brygga_startup`` read; the mappings look here each time they run."""

    settings: Settings = field(default_factory=Settings)


_state = _State()


def prefix_skus(order: Order, prefix: str) -> Order:
    """The order with ``prefix`` in front of every item SKU that does not already start with it
    (fee, freight, discount and rounding rows keep their configured article numbers)."""
    if not prefix:
        return order
    lines = tuple(
        msgspec.structs.replace(line, sku=prefix + line.sku)
        if line.kind is LineKind.ITEM and line.sku and not line.sku.startswith(prefix)
        else line
        for line in order.lines
    )
    return msgspec.structs.replace(order, lines=lines)


def order_tags(order: Order, tag_field: str) -> set[str]:
    """The order's tags: ``extra[tag_field]`` split on commas, trimmed and lower-cased."""
    raw = order.extra.get(tag_field, "")
    return {tag.strip().lower() for tag in re.split(r"[,;]", raw) if tag.strip()}


def shop_name(name: str, name_prefix: str) -> str:
    """The article's name as a shop shows it: without the ERP's ``name_prefix`` (the prefix
    compared without regard to case; a name that is only the prefix is kept)."""
    if name_prefix and name.casefold().startswith(name_prefix.casefold()):
        rest = name[len(name_prefix) :].strip()
        return rest or name
    return name


def _shop_products(article: Article, context: MappingContext) -> Article:
    """Products from the ERP to a shop: internal articles stay out, names lose the prefix."""
    settings = _state.settings
    if context.target != context.shop or not settings.applies_to(context):
        return article  # products from a shop to the ERP (``ecom``/``combo``) are left alone
    mark = settings.internal_mark.strip().casefold()
    if mark and mark in article.name.casefold():
        raise Skip(
            f"article {article.sku} is marked {settings.internal_mark!r} in {context.source}; "
            f"it is not offered in shop {context.shop!r}"
        )
    renamed = shop_name(article.name, settings.name_prefix)
    if renamed == article.name:
        return article
    return msgspec.structs.replace(article, name=renamed)


def _skip_tagged(order: Order, context: MappingContext) -> Order:
    settings = _state.settings
    tag = settings.skip_tag.strip().lower()
    if tag and settings.applies_to(context) and tag in order_tags(order, settings.tag_field):
        raise Skip(
            f"order {order.shop_order_id} in shop {context.shop!r} is tagged "
            f"{settings.skip_tag!r}; remove the tag in the shop to send it"
        )
    return order


def _prefix(order: Order, context: MappingContext) -> Order:
    settings = _state.settings
    if not settings.applies_to(context):
        return order
    return prefix_skus(order, settings.prefix)


@hookimpl
def brygga_register_mappings(register: Callable[[Mapping], None]) -> None:
    # skipping runs first: a skipped order needs no rewriting
    register(
        Mapping(
            name="skip-tagged-orders",
            register=Register.ORDERS,
            transform=_skip_tagged,
            order=10,
            description="skip orders carrying the configured tag",
        )
    )
    register(
        Mapping(
            name="sku-prefix",
            register=Register.ORDERS,
            transform=_prefix,
            order=50,
            description="put the configured prefix in front of item SKUs",
        )
    )
    # a catalog mapping: the products register's objects are Articles (see brygga.mappings)
    register(
        Mapping(
            name="shop-product-names",
            register=Register.PRODUCTS,
            transform=_shop_products,
            order=50,
            description="ERP articles to the shops: keep internal ones out, drop a name prefix",
        )
    )


@hookimpl
def brygga_startup(settings: dict[str, Any]) -> None:
    _state.settings = Settings.from_table(settings.get(PLUGIN_NAME, {}))
