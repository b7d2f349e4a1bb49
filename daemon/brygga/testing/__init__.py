"""The test kit for brygga and its plugins: simulators, connections, daemon processes, conformance.

A simulator harness: a plugin's simulator, reached in-process, with faults injected::

    from brygga.testing import Fault, RoutingTransport

    shop = PluginHost().adapters["myshop"].simulator(seed=3)
    shop.faults.add(Fault("rate_limit", path="/orders", times=1))
    transport = RoutingTransport({"shop.test": shop.app})   # no socket listens

A connection harness: the daemon's orders flow between two simulators, driven by hand::

    from brygga.testing import SimulatedConnection

    async with SimulatedConnection.open(tmp_path, shop_kind="myshop") as env:
        order_id = env.shop.place_order(lines=[("SKU-1", 1)], email="a@example.se")
        flow = env.flow()
        await flow.poll_once(env.shop_name)
        await env.drain(flow)
        assert env.copies(order_id) == 1

Conformance: the battery every adapter and its simulator must pass, from one test class::

    from brygga.testing import ShopAdapterConformance   # or ErpAdapterConformance

    class TestMyShopConformance(ShopAdapterConformance):
        kind = "myshop"

A real `brygga run` process (``DaemonProcess``, ``serve_asgi``, ``free_port``,
``toml_config``) is for end-to-end tests. The modules: :mod:`.simulators` (what every simulator
shares), :mod:`.routing`, :mod:`.connection`, :mod:`.process`, :mod:`.conformance` (its checks
one by one). Each name below is imported on first use: a simulator imports
``brygga.testing.simulators`` without the store, and only conformance needs pytest. The daemon
never imports this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from brygga.testing.conformance import ErpAdapterConformance as ErpAdapterConformance
    from brygga.testing.conformance import ErpHarness as ErpHarness
    from brygga.testing.conformance import NotSupported as NotSupported
    from brygga.testing.conformance import ShopAdapterConformance as ShopAdapterConformance
    from brygga.testing.conformance import ShopHarness as ShopHarness
    from brygga.testing.connection import SimulatedConnection as SimulatedConnection
    from brygga.testing.process import DaemonProcess as DaemonProcess
    from brygga.testing.process import free_port as free_port
    from brygga.testing.process import serve_asgi as serve_asgi
    from brygga.testing.process import toml_config as toml_config
    from brygga.testing.process import write_config as write_config
    from brygga.testing.routing import RoutingTransport as RoutingTransport
    from brygga.testing.simulators import ErpSimulator as ErpSimulator
    from brygga.testing.simulators import Fault as Fault
    from brygga.testing.simulators import FaultInjector as FaultInjector
    from brygga.testing.simulators import ShopSimulator as ShopSimulator
    from brygga.testing.simulators import SimulatedDocument as SimulatedDocument

#: each public name and the module of this package it lives in
_HOME = {
    "ErpAdapterConformance": "conformance",
    "ErpHarness": "conformance",
    "NotSupported": "conformance",
    "ShopAdapterConformance": "conformance",
    "ShopHarness": "conformance",
    "SimulatedConnection": "connection",
    "DaemonProcess": "process",
    "free_port": "process",
    "serve_asgi": "process",
    "toml_config": "process",
    "write_config": "process",
    "RoutingTransport": "routing",
    "ErpSimulator": "simulators",
    "Fault": "simulators",
    "FaultInjector": "simulators",
    "ShopSimulator": "simulators",
    "SimulatedDocument": "simulators",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> object:
    """Import a public name's module when the name is first asked for (PEP 562)."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value: object = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
