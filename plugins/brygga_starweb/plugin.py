"""Registers the Starweb shop adapter and its simulator with brygga (entry point ``starweb``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from brygga.adapters import AdapterSpec, LazySimulator, Role
from brygga.hookspecs import hookimpl
from brygga_starweb.adapter import CAPABILITIES, StarwebAdapter, StarwebConfig
from brygga_starweb.catalog import CATALOG_NOTES

__all__ = ["brygga_register_adapters"]

#: variants (read with their structure; a further variant is created with an attribute value
#: read from its variant name, see CATALOG_NOTES), customer price lists (without volume
#: prices) and campaign prices (``specialPriceExVat``) are what the catalog code reads and
#: writes
SPEC_CAPABILITIES = dataclasses.replace(
    CAPABILITIES,
    variants=True,
    price_lists=True,
    campaign_price=True,
    notes=(*CAPABILITIES.notes, *CATALOG_NOTES),
)


@hookimpl
def brygga_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    register(
        AdapterSpec(
            kind="starweb",
            role=Role.SHOP,
            config_type=StarwebConfig,
            capabilities=SPEC_CAPABILITIES,
            factory=StarwebAdapter,
            adapter=StarwebAdapter,
            simulator=LazySimulator("brygga_starweb.simulator:StarwebSimulator"),
            description=(
                "Starweb (Shop API v2): orders in, order statuses back; products (with "
                "variants) and prices read, products, prices, price lists and stock written"
            ),
        )
    )
