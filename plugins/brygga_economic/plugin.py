"""The e-conomic plugin: registers the adapter kind ``economic`` with brygga."""

from __future__ import annotations

from collections.abc import Callable

from brygga.adapters import AdapterSpec, LazySimulator, Role
from brygga.hookspecs import hookimpl
from brygga_economic.adapter import CAPABILITIES, EconomicAdapter, EconomicConfig, create_adapter

__all__ = ["brygga_register_adapters"]


@hookimpl
def brygga_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    register(
        AdapterSpec(
            kind="economic",
            role=Role.ERP,
            config_type=EconomicConfig,
            capabilities=CAPABILITIES,
            factory=create_adapter,
            adapter=EconomicAdapter,
            description=(
                "Visma e-conomic (legacy REST): customers, invoices and orders; products and "
                "prices read and written, stock read (inventory module)"
            ),
            simulator=LazySimulator("brygga_economic.simulator:EconomicSimulator"),
        )
    )
