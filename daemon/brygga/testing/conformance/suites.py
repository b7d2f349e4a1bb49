"""The pytest classes a plugin's test module subclasses to run the batteries on its adapter."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, ClassVar, TypeVar

import pytest

from brygga.adapters import AdapterSpec, Role
from brygga.clock import FakeClock
from brygga.models import EVENT_RANK, DocumentType, OrderEvent
from brygga.testing.conformance import erp, erp_status, shop, shop_status
from brygga.testing.conformance.common import FAULT_KINDS, FaultKind
from brygga.testing.conformance.harness import (
    DEFAULT_BASE_URL,
    KIT_START,
    ErpHarness,
    NotSupported,
    ShopHarness,
    adapter_spec,
    build_simulator,
    takes_keyword,
)

__all__ = ["ErpAdapterConformance", "ShopAdapterConformance"]


async def _run(check: Awaitable[None]) -> None:
    try:
        await check
    except NotSupported as exc:
        pytest.skip(str(exc))


H = TypeVar("H", ShopHarness, ErpHarness)


class _Conformance:
    """What both batteries share: the kind, the simulator and how adapters are configured."""

    #: pytest collects subclasses only (set automatically; set False on an abstract one)
    __test__: ClassVar[bool] = False
    role: ClassVar[Role]
    #: the adapter kind as registered (``PluginHost().adapters[kind]``)
    kind: ClassVar[str] = ""
    #: keyword options for the spec's simulator factory
    simulator_options: ClassVar[dict[str, Any]] = {}
    #: merged into the simulator's ``adapter_config(...)`` before decoding
    adapter_overrides: ClassVar[dict[str, Any]] = {}
    base_url: ClassVar[str] = DEFAULT_BASE_URL
    #: whether the simulator runs on the kit's clock; None: when its factory takes ``clock``
    simulator_on_clock: ClassVar[bool | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__test__" not in cls.__dict__:
            cls.__test__ = True

    def spec(self) -> AdapterSpec:
        assert self.kind, f"{type(self).__name__} must set `kind` to the adapter kind"
        return adapter_spec(self.kind, self.role)

    def make_simulator(self, clock: FakeClock) -> Any:
        """The simulator for one test: the spec's, built with ``simulator_options`` (and
        ``clock`` when its factory takes one). Override for a simulator built differently;
        set ``simulator_on_clock`` to say whether it runs on ``clock``."""
        sim, _ = build_simulator(self.spec(), clock, self.simulator_options)
        return sim

    def _harness(self, harness_type: type[H]) -> H:
        """A fresh simulator on a fresh fake clock, in a harness that opens adapters on it."""
        clock = FakeClock(KIT_START)
        sim = self.make_simulator(clock)
        return harness_type(
            self.kind,
            sim,
            clock=clock,
            sim_clock=self._sim_clock(sim, clock),
            base_url=self.base_url,
            overrides=self.adapter_overrides,
        )

    def _sim_clock(self, sim: Any, clock: FakeClock) -> FakeClock | None:
        on_clock = self.simulator_on_clock
        if on_clock is None:
            factory = self.spec().simulator
            on_clock = getattr(sim, "clock", None) is clock or (
                factory is not None
                and "clock" not in self.simulator_options
                and takes_keyword(factory, "clock")
            )
        return clock if on_clock else None


class ShopAdapterConformance(_Conformance):
    """The shop battery. Subclass it in a test module as ``class TestMyShopConformance(
    ShopAdapterConformance): kind = "myshop"``."""

    __test__ = False
    role = Role.SHOP
    #: how many orders the paging check places: more than one page of the shop's list
    paging_orders: ClassVar[int] = 130

    @pytest.fixture
    def shop_kit(self) -> ShopHarness:
        return self._harness(ShopHarness)

    @pytest.mark.anyio
    async def test_authentication(self, shop_kit: ShopHarness) -> None:
        async with shop_kit.open_adapter() as adapter:
            await _run(shop.check_authentication(shop_kit.sim, adapter))

    @pytest.mark.anyio
    async def test_bad_credentials(self, shop_kit: ShopHarness) -> None:
        try:
            wrong = shop_kit.bad_credentials()
        except NotSupported as exc:
            pytest.skip(str(exc))
        secrets = [*shop_kit.secrets(), *wrong.values()]
        async with shop_kit.open_adapter(**wrong) as adapter:
            await _run(shop.check_bad_credentials(shop_kit.sim, adapter, secrets))

    @pytest.mark.anyio
    async def test_discovery(self, shop_kit: ShopHarness) -> None:
        async with shop_kit.open_adapter() as adapter:
            await _run(shop.check_discovery(shop_kit.sim, adapter, shop_kit.sim_clock))

    @pytest.mark.anyio
    async def test_paging(self, shop_kit: ShopHarness) -> None:
        async with shop_kit.open_adapter() as adapter:
            await _run(
                shop.check_paging(
                    shop_kit.sim, adapter, self.paging_orders, clock=shop_kit.sim_clock
                )
            )

    @pytest.mark.anyio
    async def test_fetch_order(self, shop_kit: ShopHarness) -> None:
        async with shop_kit.open_adapter() as adapter:
            await _run(shop.check_fetch_order(shop_kit.sim, adapter))

    @pytest.mark.anyio
    async def test_mark_exported(self, shop_kit: ShopHarness) -> None:
        async with shop_kit.open_adapter() as adapter:
            await _run(shop.check_mark_exported(shop_kit.sim, adapter))

    @pytest.mark.anyio
    @pytest.mark.parametrize("fault", FAULT_KINDS)
    async def test_fault(self, shop_kit: ShopHarness, fault: FaultKind) -> None:
        async with shop_kit.open_adapter() as adapter:
            await _run(shop.check_shop_fault(shop_kit.sim, adapter, fault))

    @pytest.mark.anyio
    async def test_garbage(self, shop_kit: ShopHarness) -> None:
        async with shop_kit.open_adapter() as adapter:
            await _run(shop.check_garbage(shop_kit.sim, adapter))

    # -- order statuses (StatusSink; skipped for a shop adapter without it) ----------------

    @pytest.mark.anyio
    async def test_order_statuses(self, shop_kit: ShopHarness) -> None:
        async with shop_kit.open_adapter() as adapter:
            await _run(shop_status.check_order_statuses(shop_kit.sim, adapter))

    @pytest.mark.anyio
    async def test_set_status(self, shop_kit: ShopHarness) -> None:
        async with shop_kit.open_adapter() as adapter:
            await _run(shop_status.check_set_status(shop_kit.sim, adapter))

    @pytest.mark.anyio
    async def test_unknown_status(self, shop_kit: ShopHarness) -> None:
        async with shop_kit.open_adapter() as adapter:
            await _run(shop_status.check_unknown_status(shop_kit.sim, adapter))

    @pytest.mark.anyio
    async def test_set_status_fault(self, shop_kit: ShopHarness) -> None:
        async with shop_kit.open_adapter() as adapter:
            await _run(shop_status.check_set_status_fault(shop_kit.sim, adapter))


class ErpAdapterConformance(_Conformance):
    """The ERP battery. Subclass it in a test module as ``class TestMyErpConformance(
    ErpAdapterConformance): kind = "myerp"`` and set ``create_path`` to a regex of the
    create call's path (for the commit-then-fail check)."""

    __test__ = False
    role = Role.ERP
    #: regex of the path of the POST that creates a document ("commit then fail" targets it)
    create_path: ClassVar[str] = ".*"

    @pytest.fixture
    def erp_kit(self) -> ErpHarness:
        return self._harness(ErpHarness)

    @pytest.mark.anyio
    async def test_authentication(self, erp_kit: ErpHarness) -> None:
        async with erp_kit.open_adapter() as adapter:
            await _run(erp.check_erp_authentication(erp_kit.sim, adapter))

    @pytest.mark.anyio
    async def test_bad_credentials(self, erp_kit: ErpHarness) -> None:
        try:
            wrong = erp_kit.bad_credentials()
        except NotSupported as exc:
            pytest.skip(str(exc))
        secrets = [*erp_kit.secrets(), *wrong.values()]
        async with erp_kit.open_adapter(**wrong) as adapter:
            await _run(erp.check_bad_erp_credentials(erp_kit.sim, adapter, secrets))

    @pytest.mark.anyio
    async def test_customer_matching(self, erp_kit: ErpHarness) -> None:
        async with erp_kit.open_adapter() as adapter:
            await _run(erp.check_customer_matching(erp_kit.sim, adapter))

    def document_type(self) -> DocumentType:
        """The type the other ERP checks create: invoice when offered, else the first."""
        types = self.spec().capabilities.document_types
        return DocumentType.INVOICE if DocumentType.INVOICE in types or not types else min(types)

    def test_declares_document_types(self) -> None:
        types = self.spec().capabilities.document_types
        assert types, f"the {self.kind} capabilities declare no document_types"

    @pytest.mark.anyio
    @pytest.mark.parametrize("document_type", list(DocumentType))
    async def test_create_and_find(self, erp_kit: ErpHarness, document_type: DocumentType) -> None:
        if document_type not in erp_kit.spec.capabilities.document_types:
            pytest.skip(f"the {self.kind} capabilities do not offer {document_type} documents")
        async with erp_kit.open_adapter() as adapter:
            await _run(erp.check_create_and_find(erp_kit.sim, adapter, document_type))

    @pytest.mark.anyio
    async def test_commit_then_fail(self, erp_kit: ErpHarness) -> None:
        async with erp_kit.open_adapter() as adapter:
            await _run(
                erp.check_commit_then_fail(
                    erp_kit.sim, adapter, self.create_path, self.document_type()
                )
            )

    @pytest.mark.anyio
    async def test_unknown_article(self, erp_kit: ErpHarness) -> None:
        async with erp_kit.open_adapter() as adapter:
            await _run(erp.check_unknown_article(erp_kit.sim, adapter, self.document_type()))

    @pytest.mark.anyio
    @pytest.mark.parametrize("fault", FAULT_KINDS)
    async def test_fault(self, erp_kit: ErpHarness, fault: FaultKind) -> None:
        async with erp_kit.open_adapter() as adapter:
            await _run(erp.check_erp_fault(erp_kit.sim, adapter, fault, self.document_type()))

    # -- order statuses (StatusSource + the simulator's order_event; else skipped) ---------

    def status_document_type(self, event: OrderEvent) -> DocumentType:
        """The document type the status checks create to make ``event`` happen: by default
        the one the other checks create. Override for an ERP where an event happens to
        another type only (delivered on orders, say)."""
        return self.document_type()

    def _status_events(self) -> list[OrderEvent]:
        return sorted(self.spec().capabilities.status_events, key=EVENT_RANK.__getitem__)

    @pytest.mark.anyio
    async def test_declares_status_events(self, erp_kit: ErpHarness) -> None:
        async with erp_kit.open_adapter() as adapter:
            try:
                erp_status.status_source(adapter)
            except NotSupported as exc:
                pytest.skip(str(exc))
        assert self._status_events(), (
            f"the {self.kind} adapter implements StatusSource but its capabilities declare "
            "no status_events"
        )

    @pytest.mark.anyio
    @pytest.mark.parametrize("event", list(OrderEvent))
    async def test_status_event(self, erp_kit: ErpHarness, event: OrderEvent) -> None:
        if event not in erp_kit.spec.capabilities.status_events:
            pytest.skip(f"the {self.kind} capabilities do not report {event.value}")
        async with erp_kit.open_adapter() as adapter:
            await _run(
                erp_status.check_status_event(
                    erp_kit.sim, adapter, event, self.status_document_type(event)
                )
            )

    @pytest.mark.anyio
    async def test_status_of_unchanged_document(self, erp_kit: ErpHarness) -> None:
        async with erp_kit.open_adapter() as adapter:
            await _run(
                erp_status.check_unchanged_document(erp_kit.sim, adapter, self.document_type())
            )

    @pytest.mark.anyio
    async def test_status_of_many_documents(self, erp_kit: ErpHarness) -> None:
        events = self._status_events()
        if not events:
            pytest.skip(f"the {self.kind} capabilities declare no status_events")
        types = {self.status_document_type(event) for event in events}
        async with erp_kit.open_adapter() as adapter:
            for document_type in sorted(types):
                await _run(
                    erp_status.check_many_states(
                        erp_kit.sim,
                        adapter,
                        [e for e in events if self.status_document_type(e) is document_type],
                        document_type,
                    )
                )

    @pytest.mark.anyio
    async def test_status_fault(self, erp_kit: ErpHarness) -> None:
        async with erp_kit.open_adapter() as adapter:
            await _run(
                erp_status.check_status_fault(erp_kit.sim, adapter, "status", self.document_type())
            )
