"""Registers the Vendure shop adapter with brygga (entry point ``vendure``)."""

from __future__ import annotations

from collections.abc import Callable

from brygga.adapters import AdapterSpec, LazySimulator, Role
from brygga.hookspecs import hookimpl
from brygga_vendure.adapter import CAPABILITIES, VendureAdapter, VendureConfig

__all__ = ["brygga_register_adapters"]


@hookimpl
def brygga_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    register(
        AdapterSpec(
            kind="vendure",
            role=Role.SHOP,
            config_type=VendureConfig,
            capabilities=CAPABILITIES,
            factory=VendureAdapter,
            adapter=VendureAdapter,
            simulator=LazySimulator("brygga_vendure.simulator:VendureSimulator"),
            description=(
                "Vendure (Admin GraphQL API): orders in, order states back (fulfilments, "
                "payment settlement, cancel), products, stock and prices written"
            ),
        )
    )
