"""Registers the PrestaShop shop adapter and its simulator with brygga (entry point
``prestashop``)."""

from __future__ import annotations

from collections.abc import Callable

from brygga.adapters import AdapterSpec, LazySimulator, Role
from brygga.hookspecs import hookimpl
from brygga_prestashop.adapter import CAPABILITIES, PrestashopAdapter, PrestashopConfig

__all__ = ["brygga_register_adapters"]


@hookimpl
def brygga_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    register(
        AdapterSpec(
            kind="prestashop",
            role=Role.SHOP,
            config_type=PrestashopConfig,
            capabilities=CAPABILITIES,
            factory=PrestashopAdapter,
            adapter=PrestashopAdapter,
            simulator=LazySimulator("brygga_prestashop.simulator:PrestashopSimulator"),
            description=(
                "PrestaShop (Webservice, 1.7 and 8.x): orders in, order states back; products "
                "(combinations) and prices both ways; group prices and stock written"
            ),
        )
    )
