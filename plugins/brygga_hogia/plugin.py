"""The Hogia Smart plugin: registers the adapter kind ``hogia`` with brygga."""

from __future__ import annotations

from collections.abc import Callable

from brygga.adapters import AdapterSpec, LazySimulator, Role
from brygga.hookspecs import hookimpl
from brygga_hogia.adapter import CAPABILITIES, HogiaAdapter, HogiaConfig, create_adapter

__all__ = ["brygga_register_adapters"]


@hookimpl
def brygga_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    register(
        AdapterSpec(
            kind="hogia",
            role=Role.ERP,
            config_type=HogiaConfig,
            capabilities=CAPABILITIES,
            factory=create_adapter,
            adapter=HogiaAdapter,
            description=(
                "Hogia Smart (modelled API): customers and invoices (no orders); articles, "
                "ordinary and campaign prices and stock (also from the POS) read"
            ),
            simulator=LazySimulator("brygga_hogia.simulator:HogiaSimulator"),
        )
    )
