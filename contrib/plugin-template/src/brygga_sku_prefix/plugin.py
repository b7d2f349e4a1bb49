"""The plugin's hooks: two order mappings, configured from ``[plugins.sku_prefix]``.

Options (all optional)::

    [plugins.sku_prefix]
    prefix = "SE-"          # put in front of every item SKU (already prefixed SKUs are kept)
    skip_tag = "no-erp"     # orders carrying this tag are skipped, not sent to the ERP
    tag_field = "tags"      # the order field holding the tags, comma separated (see below)
    shops = ["se"]          # only orders from these shops (default: every shop)

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
]

#: the entry point name in pyproject.toml, and so the key of our ``[plugins.<name>]`` table
PLUGIN_NAME = "sku_prefix"


@dataclass(frozen=True)
class Settings:
    prefix: str = ""
    skip_tag: str = "no-erp"
    tag_field: str = "tags"
    shops: tuple[str, ...] = ()

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> Settings:
        """Validate the ``[plugins.sku_prefix]`` table; PluginError names the bad option."""
        known = {"prefix", "skip_tag", "tag_field", "shops"}
        unknown = sorted(set(table) - known)
        if unknown:
            raise PluginError(
                f"[plugins.{PLUGIN_NAME}]: unknown option {unknown[0]!r} "
                f"(allowed: {', '.join(sorted(known))})"
            )
        for key in ("prefix", "skip_tag", "tag_field"):
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


@hookimpl
def brygga_startup(settings: dict[str, Any]) -> None:
    _state.settings = Settings.from_table(settings.get(PLUGIN_NAME, {}))
