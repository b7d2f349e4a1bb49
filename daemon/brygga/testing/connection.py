"""A connection wired to simulators in-process: the real flows between them, for tests.

Plugin authors run the core flow against their own adapter's simulator (the connection harness
example in :mod:`brygga.testing`). Simulators come from the installed plugins
(``AdapterSpec.simulator``) and are reached through
:class:`~brygga.testing.routing.RoutingTransport`, so nothing listens on a socket. The store
needs asyncio. The catalog registers run only when asked for (``catalog=True``), so the orders
tests see the orders flow alone; ``shops`` adds further simulated shops (multishop).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from collections.abc import Mapping as MappingT
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import anyio

from brygga.clock import Clock
from brygga.config import LoadedConfig
from brygga.documents import Document
from brygga.http.client import HttpContext
from brygga.mappings import Mapping
from brygga.models import DocumentRef
from brygga.plugins import PluginHost
from brygga.runtime.deps import Deps
from brygga.store import ItemState, Store, WorkItem
from brygga.sync.flow import Flow
from brygga.sync.orders import document_reference
from brygga.sync.wiring import load_checked
from brygga.testing.process import write_config
from brygga.testing.routing import RoutingTransport

__all__ = ["ERP_HOST", "SHOP_HOST", "Routes", "SimulatedConnection", "default_routes"]

SHOP_HOST = "shop.test"
ERP_HOST = "erp.test"
#: the catalog registers, off unless a test asks for them (the orders tests run orders alone)
CATALOG_OFF = {"products": "off", "prices": "off", "stock": "off", "price_lists": "off"}


def shop_host(name: str, first: bool) -> str:
    """The host a simulated shop answers on: the first is ``shop.test``, more are
    ``<name>.shop.test``."""
    return SHOP_HOST if first else f"{name}.{SHOP_HOST}"


#: builds the host → ASGI app table from the two simulators (tests put proxies in between)
Routes = Callable[[Any, Any], MappingT[str, Any]]


def default_routes(shop: Any, erp: Any) -> MappingT[str, Any]:
    return {SHOP_HOST: shop.app, ERP_HOST: erp.app}


def _http(transport: RoutingTransport, clock: Clock | None) -> HttpContext:
    """The HTTP context on ``clock`` (the context's own default, the system clock, if None)."""
    if clock is None:
        return HttpContext(transport=transport)
    return HttpContext(transport=transport, clock=clock)


#: a due time in the past, to make retries due at once (tests need not wait for backoff)
_LONG_AGO = "2000-01-01T00:00:00.000000Z"


@dataclass
class SimulatedConnection:
    """One connection ("demo") between a simulated shop ("se") and a simulated ERP."""

    shop: Any
    erp: Any
    loaded: LoadedConfig
    config_path: Path
    #: the store, the HTTP context (its clock is the connection's) and the RNG, made once
    deps: Deps
    flows: list[Flow] = field(default_factory=list)
    shop_name: str = "se"
    #: field mappings the flow runs (a plugin author's own, to see them run)
    mappings: Sequence[Mapping] = ()
    #: every simulated shop by name (``shop`` is the first)
    shops: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return self.deps.store

    @store.setter
    def store(self, store: Store) -> None:  # a test that reopens the state file
        self.deps.store = store

    @property
    def http(self) -> HttpContext:
        return self.deps.http

    @property
    def clock(self) -> Clock:
        """The one clock: the flows', the rate limiters' and the token cache's."""
        return self.deps.clock

    @property
    def connection(self) -> str:
        return self.loaded.connections[0].name

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        directory: Path,
        *,
        shop_kind: str = "starweb",
        erp_kind: str = "economic",
        shop_options: MappingT[str, Any] | None = None,
        erp_options: MappingT[str, Any] | None = None,
        shop_config: MappingT[str, Any] | None = None,
        erp_config: MappingT[str, Any] | None = None,
        connection: MappingT[str, Any] | None = None,
        orders: MappingT[str, Any] | None = None,
        clock: Clock | None = None,
        routes: Routes = default_routes,
        catalog: bool = False,
        shops: Sequence[str] = ("se",),
        catalog_config: MappingT[str, Any] | None = None,
        status: MappingT[str, Any] | None = None,
    ) -> AsyncIterator[Self]:
        """Build both simulators, write and load a config, open the store; close it all after.

        ``clock`` (a FakeClock in tests) is the one clock of the connection: the flows, the
        rate limiters and the token cache run on it, so rate-limit waits move the fake time
        instead of sleeping. Without one, everything runs on the system clock. The
        simulators keep their own time unless given a clock in ``shop_options`` /
        ``erp_options``.

        ``catalog``: run the catalog registers the mode gives (price lists stay off: e-conomic
        has none); ``catalog_config`` is the ``[connection.catalog]`` section. ``shops``: the
        names of the simulated shops (each its own simulator, built with ``shop_options``).
        ``status``: the ``[connection.status]`` section (its rules make the status register
        run)."""
        host = PluginHost()
        shop_spec, erp_spec = host.adapters[shop_kind], host.adapters[erp_kind]
        if shop_spec.simulator is None or erp_spec.simulator is None:
            raise LookupError(f"{shop_kind} or {erp_kind} ships no simulator")
        simulated: dict[str, Any] = {
            name: shop_spec.simulator(**(shop_options or {})) for name in shops
        }
        shop: Any = simulated[shops[0]]
        erp: Any = erp_spec.simulator(**(erp_options or {}))
        registers = {"price_lists": "off"} if catalog else CATALOG_OFF
        sections: dict[str, MappingT[str, Any]] = {
            "orders": {"overlap": "5m", "lookback": "1h", **(orders or {})}
        }
        if catalog_config:
            sections["catalog"] = catalog_config
        if status:
            sections["status"] = status
        path = write_config(
            directory / "brygga.toml",
            state=str(directory / "state.db"),
            name="demo",
            erp={**erp.adapter_config(f"http://{ERP_HOST}"), **(erp_config or {})},
            shops=[
                {
                    **sim.adapter_config(f"http://{shop_host(name, index == 0)}/api/v2", name=name),
                    **(shop_config or {}),
                }
                for index, (name, sim) in enumerate(simulated.items())
            ],
            connection={"mode": "erp", "registers": registers, **(connection or {})},
            sections=sections,
        )
        loaded = load_checked(path, host)
        apps = dict(routes(shop, erp))
        for index, (name, sim) in enumerate(simulated.items()):
            if index:
                apps[shop_host(name, first=False)] = sim.app
        env = await cls.attach(
            shop=shop,
            erp=erp,
            loaded=loaded,
            http=_http(RoutingTransport(apps), clock),
        )
        env.shops = simulated
        env.shop_name = shops[0]
        try:
            yield env
        finally:
            await env.close()

    @classmethod
    async def attach(
        cls,
        *,
        shop: Any,
        erp: Any,
        loaded: LoadedConfig,
        http: HttpContext,
    ) -> Self:
        """Wrap simulators and a config loaded elsewhere (close it with :meth:`close`); the
        connection runs on ``http.clock``."""
        env = cls(
            shop=shop,
            erp=erp,
            loaded=loaded,
            config_path=loaded.path,
            deps=Deps(store=await Store.open(loaded.state_path), http=http),
        )
        env.shops = {env.shop_name: shop}
        return env

    @property
    def directory(self) -> Path:
        return self.config_path.parent

    async def item(self, order_id: str, register: str = "orders") -> WorkItem:
        """The work item of an order (an AssertionError when there is none)."""
        found = await self.store.items.find(
            connection=self.connection,
            register=register,
            instance=self.shop_name,
            external_id=order_id,
        )
        assert found is not None, f"no {register} work item for order {order_id}"
        return found

    async def close(self) -> None:
        for flow in self.flows:
            await flow.aclose()
        self.flows.clear()
        await self.store.close()

    def flow(self, run_id: str = "run-1") -> Flow:
        """The flow a connection actor would run, mappings included (tests drive it by hand)."""
        flow = self.deps.open_flow(
            self.loaded.connections[0], run_id=run_id, mappings=self.mappings
        )
        self.flows.append(flow)
        return flow

    def reference(self, order_id: str, generation: int = 0) -> str:
        reference = document_reference(self.connection, self.shop_name, order_id)
        return f"{reference}#r{generation}" if generation else reference

    def copies(self, order_id: str, generation: int = 0) -> int:
        """How many ERP documents carry this order's reference (exactly-once: 1)."""
        return len(self.erp.documents_with_reference(self.reference(order_id, generation)))

    async def crash_after_create(self, flow: Flow) -> None:
        """Claim the next order and process it, dying (cancelled) right after the ERP committed
        the document and before the flow could record it: a power cut at the worst moment."""
        real_create = flow.erp.create_document
        with anyio.CancelScope() as crash:

            async def create_then_crash(document: Document) -> DocumentRef:
                created = await real_create(document)
                crash.cancel()
                await anyio.sleep(1)
                return created

            flow.erp.create_document = create_then_crash  # type: ignore[method-assign]
            try:
                item = await flow.claim()
                assert item is not None, "no order to claim"
                await flow.process(item)
            finally:
                flow.erp.create_document = real_create  # type: ignore[method-assign]

    async def drain(
        self, flow: Flow, register: str = "orders", *, limit: int = 500
    ) -> list[ItemState]:
        """Process due items until none is left, making retries due at once."""
        outcomes: list[ItemState] = []
        for _ in range(limit):
            item = await flow.claim(register)
            if item is None:
                changed = await self.store.db.execute(
                    "UPDATE work_items SET next_attempt = ? WHERE state = 'retry'",
                    (_LONG_AGO,),
                )
                if not changed:
                    break
                continue
            outcomes.append(await flow.process(item))
        return outcomes
