"""Registers the Starweb shop adapter and its simulator with brygga (entry point ``starweb``)."""

from __future__ import annotations

from collections.abc import Callable

from brygga.adapters import AdapterSpec, LazySimulator, Role
from brygga.hookspecs import hookimpl
from brygga_starweb.adapter import CAPABILITIES, StarwebAdapter, StarwebConfig

__all__ = ["brygga_register_adapters"]


@hookimpl
def brygga_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    register(
        AdapterSpec(
            kind="starweb",
            role=Role.SHOP,
            config_type=StarwebConfig,
            capabilities=CAPABILITIES,
            factory=StarwebAdapter,
            adapter=StarwebAdapter,
            simulator=LazySimulator("brygga_starweb.simulator:StarwebSimulator"),
            description="Starweb (Shop API v2): orders in, order statuses back",
        )
    )
