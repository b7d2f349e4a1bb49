"""Registers the Norce Commerce shop adapter and its simulator (entry point ``norce``)."""

from __future__ import annotations

from collections.abc import Callable

from brygga.adapters import AdapterSpec, LazySimulator, Role
from brygga.hookspecs import hookimpl
from brygga_norce.adapter import CAPABILITIES, NorceAdapter, NorceConfig

__all__ = ["brygga_register_adapters"]


@hookimpl
def brygga_register_adapters(register: Callable[[AdapterSpec], None]) -> None:
    register(
        AdapterSpec(
            kind="norce",
            role=Role.SHOP,
            config_type=NorceConfig,
            capabilities=CAPABILITIES,
            factory=NorceAdapter,
            adapter=NorceAdapter,
            simulator=LazySimulator("brygga_norce.simulator:NorceSimulator"),
            description=(
                "Norce Commerce (formerly Jetshop; Connect 4.0 + Query 2.0): orders pushed in "
                "and caught up from the Query API, order statuses back, stock and prices as "
                "import jobs"
            ),
        )
    )
