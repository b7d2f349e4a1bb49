"""The Tryton plugin: registers the adapter kind ``tryton`` with brygga."""

from __future__ import annotations

from collections.abc import Callable

from brygga.adapters import AdapterSpec, LazySimulator, Role
from brygga.hookspecs import hookimpl
from brygga_tryton.adapter import CAPABILITIES, TrytonAdapter, TrytonConfig, create_adapter

__all__ = ["brygga_register_adapters"]


@hookimpl
def brygga_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    register(
        AdapterSpec(
            kind="tryton",
            role=Role.ERP,
            config_type=TrytonConfig,
            capabilities=CAPABILITIES,
            factory=create_adapter,
            adapter=TrytonAdapter,
            description=(
                "Tryton (trytond JSON-RPC): parties, sales (quoted, confirmed, processed) and "
                "their invoices; order status, list prices and stock read"
            ),
            simulator=LazySimulator("brygga_tryton.simulator:TrytonSimulator"),
        )
    )
