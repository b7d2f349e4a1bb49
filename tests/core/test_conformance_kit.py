"""The conformance kit can fail: its checks reject deliberately broken adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from brygga.adapters import Role
from brygga.clock import FakeClock
from brygga.documents import Document
from brygga.errors import PermanentError, TransientError
from brygga.models import Customer, DocumentRef, DocumentType, Order, OrderChange
from brygga.testing import (
    ErpAdapterConformance,
    ErpHarness,
    NotSupported,
    ShopAdapterConformance,
    ShopHarness,
)
from brygga.testing.conformance import (
    adapter_spec,
    check_bad_credentials,
    check_commit_then_fail,
    check_create_and_find,
    check_customer_matching,
    check_discovery,
    check_erp_fault,
    check_fetch_order,
    check_garbage,
    check_mark_exported,
    check_paging,
    check_shop_fault,
    check_unknown_article,
)
from brygga.testing.conformance.harness import KIT_START, secret_fields
from brygga.testing.simulators import Asgi
from brygga_economic.adapter import EconomicAdapter
from brygga_economic.simulator import EconomicSimulator
from brygga_starweb.adapter import StarwebAdapter, StarwebConfig
from brygga_starweb.simulator import StarwebSimulator

# -- harnesses ---------------------------------------------------------------------------------


def shop_kit(*, on_clock: bool = True) -> ShopHarness:
    """A Starweb simulator with a small page size (on the kit's clock unless told not to)."""
    clock = FakeClock(KIT_START)
    sim = StarwebSimulator(clock=clock if on_clock else None, page_size=5)
    return ShopHarness("starweb", sim, clock=clock, sim_clock=clock if on_clock else None)


def erp_kit() -> ErpHarness:
    clock = FakeClock(KIT_START)
    return ErpHarness("economic", EconomicSimulator(clock=clock), clock=clock, sim_clock=clock)


# -- broken shop adapters ------------------------------------------------------------------


class DropsAnOrder(StarwebAdapter):
    """Loses the second order of every feed read."""

    async def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        changes = [c async for c in super().changed_orders(since, until)]
        for change in changes[:1] + changes[2:]:
            yield change


class IgnoresTheWindow(StarwebAdapter):
    """Lists every order the shop has, whatever the window."""

    async def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        async for change in super().changed_orders(
            datetime.min.replace(tzinfo=since.tzinfo), until
        ):
            yield change


class NewestFirst(StarwebAdapter):
    """Yields the feed in the wrong order."""

    async def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        changes = [c async for c in super().changed_orders(since, until)]
        for change in reversed(changes):
            yield change


class Repeats(StarwebAdapter):
    """Yields the first order of a read twice although nothing drifted."""

    async def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        changes = [c async for c in super().changed_orders(since, until)]
        for change in changes[:1] + changes:
            yield change


class FirstPageOnly(StarwebAdapter):
    """Reads one page of the order list and stops."""

    async def order_page(self, page: int) -> Any:
        rows, pagination = await super().order_page(page)
        return rows, msgspec.structs.replace(pagination, total_pages=1)


class WrongTotal(StarwebAdapter):
    async def fetch_order(self, shop_order_id: str) -> Order:
        order = await super().fetch_order(shop_order_id)
        return msgspec.structs.replace(order, total=order.total + Decimal("0.01"))


class DropsALine(StarwebAdapter):
    async def fetch_order(self, shop_order_id: str) -> Order:
        order = await super().fetch_order(shop_order_id)
        return msgspec.structs.replace(order, lines=order.lines[1:])


class NeverMarks(StarwebAdapter):
    async def mark_exported(self, shop_order_id: str, document: DocumentRef) -> None:
        return None


class TransientIsPermanent(StarwebAdapter):
    """Gives up on errors that are worth retrying."""

    async def fetch_order(self, shop_order_id: str) -> Order:
        try:
            return await super().fetch_order(shop_order_id)
        except TransientError as exc:
            raise PermanentError(str(exc)) from None


class ForgetsRetryAfter(StarwebAdapter):
    async def fetch_order(self, shop_order_id: str) -> Order:
        try:
            return await super().fetch_order(shop_order_id)
        except TransientError as exc:
            raise TransientError(str(exc)) from None


class LeaksTheSecret(StarwebAdapter):
    async def fetch_order(self, shop_order_id: str) -> Order:
        try:
            return await super().fetch_order(shop_order_id)
        except PermanentError as exc:
            secret = self.config.client_secret.reveal()
            raise PermanentError(f"{exc} (we tried {secret})") from None


class CrashesOnBadCredentials(StarwebAdapter):
    async def fetch_order(self, shop_order_id: str) -> Order:
        try:
            return await super().fetch_order(shop_order_id)
        except PermanentError as exc:
            raise RuntimeError("login failed") from exc


class VagueAboutGarbage(StarwebAdapter):
    async def fetch_order(self, shop_order_id: str) -> Order:
        try:
            return await super().fetch_order(shop_order_id)
        except PermanentError:
            raise PermanentError("the shop sent something odd") from None


ShopCheck = Callable[[ShopHarness, Any], Awaitable[None]]


SHOP_CHECKS: dict[str, ShopCheck] = {
    "discovery": lambda kit, adapter: check_discovery(kit.sim, adapter, kit.sim_clock),
    "paging": lambda kit, adapter: check_paging(kit.sim, adapter, 12, clock=kit.sim_clock),
    "fetch": lambda kit, adapter: check_fetch_order(kit.sim, adapter),
    "mark": lambda kit, adapter: check_mark_exported(kit.sim, adapter),
    "server_error": lambda kit, adapter: check_shop_fault(kit.sim, adapter, "status"),
    "rate_limit": lambda kit, adapter: check_shop_fault(kit.sim, adapter, "rate_limit"),
    "timeout": lambda kit, adapter: check_shop_fault(kit.sim, adapter, "timeout"),
    "garbage": lambda kit, adapter: check_garbage(kit.sim, adapter),
}

SHOP_CASES: list[tuple[str, type[StarwebAdapter], str]] = [
    ("discovery", DropsAnOrder, "missing orders"),
    ("discovery", IgnoresTheWindow, "outside the window"),
    ("discovery", NewestFirst, r"not in \(modified_at, id\) order"),
    ("discovery", Repeats, "more than once"),
    ("paging", FirstPageOnly, "paging through 12 orders missed"),
    ("paging", DropsAnOrder, "missed 1"),
    ("fetch", WrongTotal, "the shop says"),
    ("fetch", DropsALine, "item lines"),
    ("mark", NeverMarks, "after mark_exported the shop holds None"),
    ("server_error", TransientIsPermanent, "expected TransientError, got PermanentError"),
    ("rate_limit", ForgetsRetryAfter, "without retry_after"),
    ("timeout", TransientIsPermanent, "expected TransientError, got PermanentError"),
    ("garbage", VagueAboutGarbage, "does not name the order"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("check", "broken", "message"),
    SHOP_CASES,
    ids=[f"{check}-{broken.__name__}" for check, broken, _ in SHOP_CASES],
)
async def test_shop_checks_reject_broken_adapters(
    check: str, broken: type[StarwebAdapter], message: str
) -> None:
    kit = shop_kit()
    async with kit.open_adapter(broken) as adapter:
        with pytest.raises(AssertionError, match=message):
            await SHOP_CHECKS[check](kit, adapter)


@pytest.mark.anyio
@pytest.mark.parametrize("check", sorted(SHOP_CHECKS))
async def test_the_same_shop_checks_pass_on_the_real_adapter(check: str) -> None:
    kit = shop_kit()
    async with kit.open_adapter() as adapter:
        await SHOP_CHECKS[check](kit, adapter)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("broken", "message"),
    [(LeaksTheSecret, "shows a credential"), (CrashesOnBadCredentials, "got RuntimeError")],
)
async def test_bad_credentials_check_rejects_leaks_and_crashes(
    broken: type[StarwebAdapter], message: str
) -> None:
    kit = shop_kit()
    wrong = kit.bad_credentials()
    secrets = [*kit.secrets(), *wrong.values()]
    async with kit.open_adapter(**wrong) as adapter:
        await check_bad_credentials(kit.sim, adapter, secrets)
    async with kit.open_adapter(broken, **wrong) as adapter:
        with pytest.raises(AssertionError, match=message):
            await check_bad_credentials(kit.sim, adapter, secrets)


@pytest.mark.anyio
async def test_discovery_without_the_kit_clock() -> None:
    """A simulator on its own (real) clock gets the coarse windows, which still fail a
    dropping adapter."""
    kit = shop_kit(on_clock=False)
    async with kit.open_adapter() as adapter:
        await check_discovery(kit.sim, adapter, None)
    kit = shop_kit(on_clock=False)
    async with kit.open_adapter(DropsAnOrder) as adapter:
        with pytest.raises(AssertionError, match="misses orders"):
            await check_discovery(kit.sim, adapter, None)


class _WithoutHooks:
    """A simulator proxy that hides ``mangle_order``."""

    def __init__(self, sim: StarwebSimulator) -> None:
        self._sim = sim

    def __getattr__(self, name: str) -> Any:
        if name == "mangle_order":
            raise AttributeError(name)
        return getattr(self._sim, name)

    @property
    def app(self) -> Asgi:
        return self._sim.app


@pytest.mark.anyio
async def test_garbage_check_is_not_supported_without_the_hook() -> None:
    kit = shop_kit()
    async with kit.open_adapter() as adapter:
        with pytest.raises(NotSupported, match="no mangle_order"):
            await check_garbage(_WithoutHooks(kit.sim), adapter)  # type: ignore[arg-type]


# -- broken ERP adapters -------------------------------------------------------------------


class FindsNothing(EconomicAdapter):
    async def find_document(
        self, reference: str, document_type: DocumentType
    ) -> DocumentRef | None:
        return None


class MatchesAnyone(EconomicAdapter):
    """Answers every customer search with the first customer it created."""

    first: str | None = None

    async def create_customer(self, customer: Customer, currency: str) -> str:
        number = await super().create_customer(customer, currency)
        self.first = self.first or number
        return number

    async def find_customer(self, customer: Customer, match_on: Sequence[str]) -> str | None:
        return self.first


class LosesTheRoundingRow(EconomicAdapter):
    async def create_document(self, document: Document) -> DocumentRef:
        return await super().create_document(
            msgspec.structs.replace(document, lines=document.lines[:-1])
        )


class RetriesUnknownArticles(EconomicAdapter):
    async def create_document(self, document: Document) -> DocumentRef:
        try:
            return await super().create_document(document)
        except PermanentError as exc:
            raise TransientError(str(exc)) from None


class SwallowsOutages(EconomicAdapter):
    async def find_customer(self, customer: Customer, match_on: Sequence[str]) -> str | None:
        try:
            return await super().find_customer(customer, match_on)
        except TransientError:
            return None


ErpCheck = Callable[[ErpHarness, Any], Awaitable[None]]


ERP_CHECKS: dict[str, ErpCheck] = {
    "invoice": lambda kit, adapter: check_create_and_find(kit.sim, adapter, DocumentType.INVOICE),
    "order": lambda kit, adapter: check_create_and_find(kit.sim, adapter, DocumentType.ORDER),
    "commit_then_fail": lambda kit, adapter: check_commit_then_fail(
        kit.sim, adapter, r"^/invoices/drafts$"
    ),
    "customers": lambda kit, adapter: check_customer_matching(kit.sim, adapter),
    "unknown_article": lambda kit, adapter: check_unknown_article(kit.sim, adapter),
    "server_error": lambda kit, adapter: check_erp_fault(kit.sim, adapter, "status"),
}

ERP_CASES: list[tuple[str, type[EconomicAdapter], str]] = [
    ("invoice", FindsNothing, "find_document returned None"),
    ("order", FindsNothing, "find_document returned None"),
    ("invoice", LosesTheRoundingRow, "document totals"),
    ("commit_then_fail", FindsNothing, "find_document after commit-then-fail returned None"),
    ("customers", MatchesAnyone, r"found '\d+', not '\d+'"),
    ("unknown_article", RetriesUnknownArticles, "expected PermanentError, got TransientError"),
    ("server_error", SwallowsOutages, "expected TransientError, but it returned None"),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("check", "broken", "message"),
    ERP_CASES,
    ids=[f"{check}-{broken.__name__}" for check, broken, _ in ERP_CASES],
)
async def test_erp_checks_reject_broken_adapters(
    check: str, broken: type[EconomicAdapter], message: str
) -> None:
    kit = erp_kit()
    async with kit.open_adapter(broken) as adapter:
        with pytest.raises(AssertionError, match=message):
            await ERP_CHECKS[check](kit, adapter)


@pytest.mark.anyio
@pytest.mark.parametrize("check", sorted(ERP_CHECKS))
async def test_the_same_erp_checks_pass_on_the_real_adapter(check: str) -> None:
    kit = erp_kit()
    async with kit.open_adapter() as adapter:
        await ERP_CHECKS[check](kit, adapter)


@pytest.mark.anyio
async def test_commit_then_fail_check_says_when_no_create_call_matched() -> None:
    kit = erp_kit()
    async with kit.open_adapter() as adapter:
        with pytest.raises(AssertionError, match="no POST matched create_path"):
            await check_commit_then_fail(kit.sim, adapter, r"^/no-such-path$")


# -- the harness and the classes -----------------------------------------------------------


def test_base_classes_are_not_collected_but_subclasses_are() -> None:
    assert ShopAdapterConformance.__test__ is False
    assert ErpAdapterConformance.__test__ is False

    class TestSomeShop(ShopAdapterConformance):
        kind = "starweb"

    class AbstractErpBattery(ErpAdapterConformance):
        __test__ = False

    class TestSomeErp(AbstractErpBattery):
        kind = "economic"

    assert TestSomeShop.__test__ is True
    assert AbstractErpBattery.__test__ is False
    assert TestSomeErp.__test__ is True


def test_kinds_are_looked_up_with_their_role() -> None:
    assert adapter_spec("starweb", Role.SHOP).config_type is StarwebConfig
    with pytest.raises(LookupError, match="no adapter of kind 'nosuch'"):
        adapter_spec("nosuch", Role.SHOP)
    with pytest.raises(LookupError, match="is a shop adapter, not erp"):
        adapter_spec("starweb", Role.ERP)


def test_configs_are_decoded_like_the_loader_does() -> None:
    kit = shop_kit()
    sim = kit.sim
    assert isinstance(sim, StarwebSimulator)
    assert secret_fields(StarwebConfig) == ["client_id", "client_secret"]
    config = kit.config(kit.raw_config(service_name="kit"))
    assert isinstance(config, StarwebConfig)
    assert config.service_name == "kit"
    assert config.client_secret.reveal() == sim.client_secret
    assert sim.client_secret not in repr(config)
    assert kit.secrets() == [sim.client_id, sim.client_secret]
    assert set(kit.bad_credentials()) == {"client_id", "client_secret"}
