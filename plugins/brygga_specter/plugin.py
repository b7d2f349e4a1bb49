"""The Specter plugin: registers the adapter kind ``specter`` with brygga."""

from __future__ import annotations

from collections.abc import Callable

from brygga.adapters import AdapterSpec, LazySimulator, Role
from brygga.hookspecs import hookimpl
from brygga_specter.adapter import CAPABILITIES, SpecterAdapter, SpecterConfig, create_adapter

__all__ = ["brygga_register_adapters"]


@hookimpl
def brygga_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    register(
        AdapterSpec(
            kind="specter",
            role=Role.ERP,
            config_type=SpecterConfig,
            capabilities=CAPABILITIES,
            factory=create_adapter,
            adapter=SpecterAdapter,
            description=(
                "Specter Business Management (modelled API): customers, invoices or orders; "
                "items with variants, prices, price lists and stock read"
            ),
            simulator=LazySimulator("brygga_specter.simulator:SpecterSimulator"),
        )
    )
