"""The conformance kit's order-status checks can fail: they reject broken status adapters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
import pytest

from brygga.clock import FakeClock
from brygga.errors import PermanentError, TransientError
from brygga.models import DocumentRef, DocumentState, OrderEvent
from brygga.testing import ErpHarness, NotSupported, ShopHarness
from brygga.testing.conformance import (
    check_many_states,
    check_order_statuses,
    check_set_status,
    check_set_status_fault,
    check_status_event,
    check_status_fault,
    check_unchanged_document,
    check_unknown_status,
)
from brygga.testing.conformance.harness import KIT_START
from brygga.testing.simulators import Asgi
from brygga_economic.adapter import EconomicAdapter
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.adapter import StarwebAdapter
from brygga_starweb.simulator import StarwebSimulator


def shop_kit() -> ShopHarness:
    clock = FakeClock(KIT_START)
    return ShopHarness("starweb", StarwebSimulator(clock=clock), clock=clock, sim_clock=clock)


def erp_kit() -> ErpHarness:
    clock = FakeClock(KIT_START)
    return ErpHarness("economic", EconomicSimulator(clock=clock), clock=clock, sim_clock=clock)


# -- broken shop adapters ------------------------------------------------------------------


class NoStatuses(StarwebAdapter):
    async def order_statuses(self) -> list[str]:
        return []


class StatusesTwice(StarwebAdapter):
    async def order_statuses(self) -> list[str]:
        statuses = await super().order_statuses()
        return [*statuses, statuses[0]]


class ClaimsToWrite(StarwebAdapter):
    """Says it wrote, writes nothing."""

    async def set_status(self, shop_order_id: str, status_id_code: str, **kw: Any) -> bool:
        return True


class AlwaysWrites(StarwebAdapter):
    """Not idempotent: a repeat writes again and says so."""

    async def set_status(self, shop_order_id: str, status_id_code: str, **kw: Any) -> bool:
        await super().set_status(shop_order_id, status_id_code, **kw)
        await self._call("PATCH", f"orders/{shop_order_id}", "kit", json={})
        return True


class WritesQuietly(StarwebAdapter):
    """Says a repeat wrote nothing, but sends a write anyway."""

    async def set_status(self, shop_order_id: str, status_id_code: str, **kw: Any) -> bool:
        wrote = await super().set_status(shop_order_id, status_id_code, **kw)
        if not wrote:
            await self._call("PATCH", f"orders/{shop_order_id}", "kit", json={})
        return wrote


class VagueAboutStatus(StarwebAdapter):
    async def set_status(self, shop_order_id: str, status_id_code: str, **kw: Any) -> bool:
        try:
            return await super().set_status(shop_order_id, status_id_code, **kw)
        except PermanentError:
            raise PermanentError("the shop refused the status") from None


class GivesUpOnOutages(StarwebAdapter):
    async def set_status(self, shop_order_id: str, status_id_code: str, **kw: Any) -> bool:
        try:
            return await super().set_status(shop_order_id, status_id_code, **kw)
        except TransientError as exc:
            raise PermanentError(str(exc)) from None


class SwallowsWriteErrors(StarwebAdapter):
    async def set_status(self, shop_order_id: str, status_id_code: str, **kw: Any) -> bool:
        try:
            return await super().set_status(shop_order_id, status_id_code, **kw)
        except TransientError:
            return False


ShopCheck = Callable[[ShopHarness, Any], Awaitable[None]]

SHOP_CHECKS: dict[str, ShopCheck] = {
    "statuses": lambda kit, adapter: check_order_statuses(kit.sim, adapter),
    "set": lambda kit, adapter: check_set_status(kit.sim, adapter),
    "unknown": lambda kit, adapter: check_unknown_status(kit.sim, adapter),
    "fault": lambda kit, adapter: check_set_status_fault(kit.sim, adapter),
}

SHOP_CASES: list[tuple[str, type[StarwebAdapter], str]] = [
    ("statuses", NoStatuses, r"order_statuses\(\) is empty"),
    ("statuses", StatusesTwice, "more than once"),
    ("set", NoStatuses, r"order_statuses\(\) is empty"),
    ("set", ClaimsToWrite, "fetch_order says the order has status 'created'"),
    ("set", AlwaysWrites, "returned True, not False"),
    ("set", WritesQuietly, "made 1 write requests"),
    ("unknown", VagueAboutStatus, "does not name the status"),
    ("fault", GivesUpOnOutages, "expected TransientError, got PermanentError"),
    ("fault", SwallowsWriteErrors, "expected TransientError, but it returned False"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("check", "broken", "message"),
    SHOP_CASES,
    ids=[f"{check}-{broken.__name__}" for check, broken, _ in SHOP_CASES],
)
async def test_shop_status_checks_reject_broken_adapters(
    check: str, broken: type[StarwebAdapter], message: str
) -> None:
    kit = shop_kit()
    async with kit.open_adapter(broken) as adapter:
        with pytest.raises(AssertionError, match=message):
            await SHOP_CHECKS[check](kit, adapter)


@pytest.mark.anyio
@pytest.mark.parametrize("check", sorted(SHOP_CHECKS))
async def test_the_same_shop_status_checks_pass_on_the_real_adapter(check: str) -> None:
    kit = shop_kit()
    async with kit.open_adapter() as adapter:
        await SHOP_CHECKS[check](kit, adapter)


class _NoStatusSink:
    """A shop adapter without order_statuses/set_status (only what the checks touch)."""

    def __init__(self, adapter: StarwebAdapter) -> None:
        self.fetch_order = adapter.fetch_order


@pytest.mark.anyio
@pytest.mark.parametrize("check", sorted(SHOP_CHECKS))
async def test_shop_status_checks_are_not_supported_without_a_status_sink(check: str) -> None:
    kit = shop_kit()
    async with kit.open_adapter() as adapter:
        with pytest.raises(NotSupported, match=r"does not implement brygga\.registers\.StatusSink"):
            await SHOP_CHECKS[check](kit, _NoStatusSink(adapter))


# -- broken ERP adapters -------------------------------------------------------------------


class ForgetsEvents(EconomicAdapter):
    async def document_states(self, documents: Sequence[DocumentRef]) -> list[DocumentState]:
        states = await super().document_states(documents)
        return [msgspec.structs.replace(s, events=frozenset()) for s in states]


class LeavesAllOut(EconomicAdapter):
    async def document_states(self, documents: Sequence[DocumentRef]) -> list[DocumentState]:
        await super().document_states(documents)
        return []


class ReportsTwice(EconomicAdapter):
    async def document_states(self, documents: Sequence[DocumentRef]) -> list[DocumentState]:
        states = await super().document_states(documents)
        return [*states, *states]


class EverythingPaid(EconomicAdapter):
    async def document_states(self, documents: Sequence[DocumentRef]) -> list[DocumentState]:
        states = await super().document_states(documents)
        return [msgspec.structs.replace(s, events=s.events | {OrderEvent.PAID}) for s in states]


class MixesUp(EconomicAdapter):
    """Gives every document the events of all documents of the batch."""

    async def document_states(self, documents: Sequence[DocumentRef]) -> list[DocumentState]:
        states = await super().document_states(documents)
        every = frozenset(e for s in states for e in s.events)
        return [msgspec.structs.replace(s, events=every) for s in states]


class InventsAReference(EconomicAdapter):
    async def document_states(self, documents: Sequence[DocumentRef]) -> list[DocumentState]:
        states = await super().document_states(documents)
        return [*states, DocumentState(reference="brygga:kit:nobody", number="1")]


class SwallowsOutages(EconomicAdapter):
    async def document_states(self, documents: Sequence[DocumentRef]) -> list[DocumentState]:
        try:
            return await super().document_states(documents)
        except TransientError:
            return []


ErpCheck = Callable[[ErpHarness, Any], Awaitable[None]]
_EVENTS = [OrderEvent.INVOICED, OrderEvent.PAID, OrderEvent.CANCELLED]

ERP_CHECKS: dict[str, ErpCheck] = {
    **{
        event.value: (lambda e: lambda kit, adapter: check_status_event(kit.sim, adapter, e))(event)
        for event in _EVENTS
    },
    "unchanged": lambda kit, adapter: check_unchanged_document(kit.sim, adapter),
    "many": lambda kit, adapter: check_many_states(kit.sim, adapter, _EVENTS),
    "fault": lambda kit, adapter: check_status_fault(kit.sim, adapter),
}

ERP_CASES: list[tuple[str, type[EconomicAdapter], str]] = [
    ("invoiced", ForgetsEvents, "without invoiced"),
    ("paid", ForgetsEvents, "without paid"),
    ("cancelled", ForgetsEvents, "without cancelled"),
    ("invoiced", LeavesAllOut, "left out"),
    ("cancelled", ReportsTwice, "more than once"),
    ("unchanged", EverythingPaid, r"nobody touched in the ERP, is reported \['paid'\]"),
    ("many", MixesUp, "nobody touched in the ERP, is reported"),
    ("many", LeavesAllOut, "left out"),
    ("many", ReportsTwice, "more than once"),
    ("many", InventsAReference, "which nobody asked about"),
    ("fault", SwallowsOutages, r"expected TransientError, but it returned \[\]"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("check", "broken", "message"),
    ERP_CASES,
    ids=[f"{check}-{broken.__name__}" for check, broken, _ in ERP_CASES],
)
async def test_erp_status_checks_reject_broken_adapters(
    check: str, broken: type[EconomicAdapter], message: str
) -> None:
    kit = erp_kit()
    async with kit.open_adapter(broken) as adapter:
        with pytest.raises(AssertionError, match=message):
            await ERP_CHECKS[check](kit, adapter)


@pytest.mark.anyio
@pytest.mark.parametrize("check", sorted(ERP_CHECKS))
async def test_the_same_erp_status_checks_pass_on_the_real_adapter(check: str) -> None:
    kit = erp_kit()
    async with kit.open_adapter() as adapter:
        await ERP_CHECKS[check](kit, adapter)


class _WithoutOrderEvent:
    """An ERP simulator proxy that hides ``order_event``."""

    def __init__(self, sim: EconomicSimulator) -> None:
        self._sim = sim

    def __getattr__(self, name: str) -> Any:
        if name == "order_event":
            raise AttributeError(name)
        return getattr(self._sim, name)

    @property
    def app(self) -> Asgi:
        return self._sim.app


@pytest.mark.anyio
async def test_event_checks_are_not_supported_without_order_event() -> None:
    kit = erp_kit()
    async with kit.open_adapter() as adapter:
        with pytest.raises(NotSupported, match="no order_event"):
            await check_status_event(_WithoutOrderEvent(kit.sim), adapter, OrderEvent.PAID)  # type: ignore[arg-type]
        with pytest.raises(NotSupported, match="no order_event"):
            await check_many_states(_WithoutOrderEvent(kit.sim), adapter, _EVENTS)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_an_event_the_simulator_cannot_make_happen_fails_the_check() -> None:
    """e-conomic has no delivered state: an adapter claiming it could not be held to it."""
    kit = erp_kit()
    async with kit.open_adapter() as adapter:
        with pytest.raises(AssertionError, match="cannot make it happen"):
            await check_status_event(kit.sim, adapter, OrderEvent.DELIVERED)


class _NoStatusSource:
    """An ERP adapter without document_states."""


@pytest.mark.anyio
@pytest.mark.parametrize("check", sorted(ERP_CHECKS))
async def test_erp_status_checks_are_not_supported_without_a_status_source(check: str) -> None:
    kit = erp_kit()
    with pytest.raises(NotSupported, match=r"does not implement brygga\.registers\.StatusSource"):
        await ERP_CHECKS[check](kit, _NoStatusSource())
