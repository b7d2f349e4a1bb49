"""The Fortnox plugin: registers the adapter kind ``fortnox`` with brygga."""

from __future__ import annotations

from collections.abc import Callable

from brygga.adapters import AdapterSpec, LazySimulator, Role
from brygga.hookspecs import hookimpl
from brygga_fortnox.adapter import CAPABILITIES, FortnoxAdapter, FortnoxConfig, create_adapter

__all__ = ["brygga_register_adapters", "spec"]


def spec() -> AdapterSpec:
    """The ``fortnox`` adapter kind."""
    return AdapterSpec(
        kind="fortnox",
        role=Role.ERP,
        config_type=FortnoxConfig,
        capabilities=CAPABILITIES,
        factory=create_adapter,
        adapter=FortnoxAdapter,
        description=(
            "Fortnox API v3: customers, invoices and orders (OAuth2 with rotating refresh "
            "tokens), order status back (invoiced, paid, cancelled)"
        ),
        simulator=LazySimulator("brygga_fortnox.simulator:FortnoxSimulator"),
    )


@hookimpl
def brygga_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    register(spec())
