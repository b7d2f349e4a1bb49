"""The shop battery as plain async checks: each drives a ShopAdapter against its simulator.

Every check places its own orders, so it needs a simulator no other check has used (orders a
simulator starts with are ignored). A check raises AssertionError when the adapter does not
conform, and :class:`~brygga.testing.conformance.harness.NotSupported` when it cannot run.
"""

from __future__ import annotations

import numbers
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from brygga.adapters import ShopAdapter
from brygga.clock import FakeClock
from brygga.config import FeeArticles
from brygga.documents import round_money
from brygga.models import DocumentRef, DocumentType, LineKind, Order, OrderChange, decode, encode
from brygga.sync.order_document import build_document
from brygga.testing.conformance.common import (
    FaultKind,
    assert_no_secret,
    expect_permanent,
    expect_transient_fault,
    id_key,
    message_of,
)
from brygga.testing.conformance.harness import NotSupported
from brygga.testing.simulators import ShopSimulator

__all__ = [
    "FAR_FUTURE",
    "FAR_PAST",
    "KIT_EMAIL",
    "changes_in",
    "check_authentication",
    "check_bad_credentials",
    "check_discovery",
    "check_fetch_order",
    "check_garbage",
    "check_mark_exported",
    "check_paging",
    "check_shop_fault",
    "scramble",
]

KIT_EMAIL = "kit.kund@example.com"
#: a window that holds every order a simulator on any clock can have
FAR_PAST = datetime(2000, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def _place(sim: ShopSimulator, quantity: int = 1, email: str = KIT_EMAIL) -> str:
    skus = sim.catalog_skus()
    assert skus, "the simulator's catalog_skus() is empty; the kit needs one SKU to order"
    return sim.place_order(lines=[(skus[0], quantity)], email=email)


async def changes_in(adapter: ShopAdapter, since: datetime, until: datetime) -> list[OrderChange]:
    """Everything ``changed_orders(since, until)`` yields, in order."""
    return [change async for change in adapter.changed_orders(since, until)]


def _feed_ids(changes: list[OrderChange], since: datetime, until: datetime) -> list[str]:
    """The ids of a change feed read while the shop stood still, after checking that each
    order comes once, inside the window, with an aware UTC time, in (modified_at, id) order."""
    window = f"changed_orders({since.isoformat()}, {until.isoformat()})"
    ids = [change.shop_order_id for change in changes]
    repeated = sorted((i for i, n in Counter(ids).items() if n > 1), key=id_key)
    assert not repeated, f"{window} yielded orders {repeated} more than once"
    for change in changes:
        assert isinstance(change, OrderChange), f"{window} yielded a {type(change).__name__}"
        when = change.modified_at
        assert when.tzinfo is not None and when.utcoffset() == timedelta(0), (
            f"{window}: order {change.shop_order_id} has modified_at {when!r}, not aware UTC"
        )
        assert since <= when < until, (
            f"{window}: order {change.shop_order_id} was modified at {when.isoformat()}, "
            "outside the window"
        )
        assert isinstance(change.status, str) and change.status, (
            f"{window}: order {change.shop_order_id} has no status"
        )
    keys = [(c.modified_at, id_key(c.shop_order_id)) for c in changes]
    assert keys == sorted(keys), f"{window} is not in (modified_at, id) order: " + ", ".join(
        f"{c.shop_order_id}@{c.modified_at.isoformat()}" for c in changes
    )
    return ids


def _assert_found(found: Iterable[str], expected: list[str], known: set[str], what: str) -> None:
    """``found`` (less the ``known`` orders the simulator started with) is ``expected``."""
    new = [i for i in found if i not in known]
    missing = [i for i in expected if i not in new]
    extra = [i for i in new if i not in expected]
    assert not missing and not extra, (
        f"{what}: missing orders {missing}, orders outside the window {extra}"
    )
    assert new == expected, f"{what}: found {new}, expected {expected} in this order"


async def check_authentication(sim: ShopSimulator, adapter: ShopAdapter) -> None:
    """With the simulator's credentials the adapter reads the change feed and an order."""
    order_id = _place(sim)
    order = await adapter.fetch_order(order_id)
    assert order.shop_order_id == order_id, (
        f"fetch_order({order_id!r}) returned order {order.shop_order_id!r}"
    )
    ids = [c.shop_order_id for c in await changes_in(adapter, FAR_PAST, FAR_FUTURE)]
    assert order_id in ids, f"the change feed over all time does not list order {order_id}"


async def check_bad_credentials(
    sim: ShopSimulator, adapter: ShopAdapter, secrets: Iterable[str]
) -> None:
    """An adapter built with wrong credentials raises PermanentError (not a crash, not a
    retry) from the feed and from ``fetch_order``, and no error or repr shows a secret."""
    secrets = [s for s in secrets if s]
    order_id = _place(sim)
    for what, call in (
        (
            f"fetch_order({order_id!r}) with wrong credentials",
            lambda: adapter.fetch_order(order_id),
        ),
        (
            "changed_orders with wrong credentials",
            lambda: changes_in(adapter, FAR_PAST, FAR_FUTURE),
        ),
    ):
        error = await expect_permanent(call, what)
        assert_no_secret(message_of(error), secrets, f"the error of {what}")
    assert_no_secret(repr(adapter), secrets, "the adapter's repr")
    assert_no_secret(str(adapter), secrets, "the adapter's str")


async def check_discovery(
    sim: ShopSimulator, adapter: ShopAdapter, clock: FakeClock | None = None
) -> None:
    """The change feed finds every order placed in a window and none outside it, each once,
    in (modified_at, id) order; ``[since, until)`` is closed at the start, open at the end.

    ``clock`` is the fake clock the simulator runs on; without one the check places the
    orders in real time and tests coarser windows around them.
    """
    known = set(sim.order_ids())
    if clock is None:
        await _discovery_in_real_time(sim, adapter, known)
        return
    start = clock.now()
    before = [_place(sim)]
    clock.advance(60)
    before.append(_place(sim))
    clock.advance(60)
    since = clock.now()
    inside = [_place(sim)]  # modified exactly at `since`: inside
    clock.advance(30)
    inside += sorted((_place(sim), _place(sim)), key=id_key)  # one second: ordered by id
    clock.advance(30)
    inside.append(_place(sim))
    clock.advance(30)
    until = clock.now()
    after = [_place(sim)]  # modified exactly at `until`: outside
    clock.advance(60)
    after.append(_place(sim))
    clock.advance(60)
    end = clock.now()
    for lo, hi, expected in ((since, until, inside), (until, end, after), (start, since, before)):
        ids = _feed_ids(await changes_in(adapter, lo, hi), lo, hi)
        _assert_found(ids, expected, known, f"changed_orders({lo.isoformat()}, {hi.isoformat()})")


async def _discovery_in_real_time(
    sim: ShopSimulator, adapter: ShopAdapter, known: set[str]
) -> None:
    placed = [_place(sim) for _ in range(4)]
    everything = await changes_in(adapter, FAR_PAST, FAR_FUTURE)
    ids = _feed_ids(everything, FAR_PAST, FAR_FUTURE)
    missing = [i for i in placed if i not in ids]
    assert not missing, f"the change feed over all time misses orders {missing}"
    times = {c.shop_order_id: c.modified_at for c in everything if c.shop_order_id in placed}
    lo, hi = min(times.values()), max(times.values()) + timedelta(seconds=1)
    inner = _feed_ids(await changes_in(adapter, lo, hi), lo, hi)
    assert all(i in inner for i in placed), f"changed_orders({lo}, {hi}) misses orders"
    for a, b in ((hi, hi + timedelta(days=1)), (lo - timedelta(days=1), lo)):
        outside = [i for i in _feed_ids(await changes_in(adapter, a, b), a, b) if i in placed]
        assert not outside, f"changed_orders({a}, {b}) lists orders {outside} outside it"


async def check_paging(
    sim: ShopSimulator, adapter: ShopAdapter, count: int = 130, clock: FakeClock | None = None
) -> None:
    """``count`` orders (more than one page holds; three share each second) are all found,
    each once, in order: the feed reads to the last page."""
    known = set(sim.order_ids())
    since = clock.now() if clock else FAR_PAST
    placed = []
    for index in range(count):
        placed.append(_place(sim, quantity=1 + index % 3))
        if clock is not None and index % 3 == 2:
            clock.advance(1)
    until = FAR_FUTURE
    if clock is not None:
        clock.advance(1)
        until = clock.now()
    ids = _feed_ids(await changes_in(adapter, since, until), since, until)
    new = {i for i in ids if i not in known}
    missing = sorted(set(placed) - new, key=id_key)
    assert not missing, f"paging through {count} orders missed {len(missing)}: {missing[:20]}"
    if clock is not None:
        extra = sorted(new - set(placed), key=id_key)
        assert not extra, f"paging found orders that were not placed in the window: {extra}"


async def check_fetch_order(sim: ShopSimulator, adapter: ShopAdapter) -> None:
    """``fetch_order`` returns a valid canonical Order: the shop's total and VAT, the
    ordered SKUs and quantities in order, the freight, the buyer's e-mail, aware UTC times,
    and lines that add up to the total (the orders flow can build a document from it)."""
    skus = list(dict.fromkeys(sim.catalog_skus()))[:2]
    assert skus, "the simulator's catalog_skus() is empty; the kit needs SKUs to order"
    wanted = [(sku, 2 - index) for index, sku in enumerate(skus)]
    freight = Decimal("49")
    order_id = sim.place_order(lines=wanted, email=KIT_EMAIL, freight=freight)
    order = await adapter.fetch_order(order_id)
    what = f"fetch_order({order_id!r})"
    assert isinstance(order, Order), f"{what} returned a {type(order).__name__}"
    try:
        again = decode(encode(order), Order)
    except Exception as exc:
        raise AssertionError(f"{what} is not a valid canonical Order: {exc}") from None
    assert again == order, f"{what} does not survive a canonical JSON round trip"
    assert order.shop_order_id == order_id, f"{what} returned order {order.shop_order_id!r}"
    total, vat = sim.order_total(order_id)
    assert (order.total, order.total_vat) == (total, vat), (
        f"{what}: total {order.total} and VAT {order.total_vat}; the shop says {total} and {vat}"
    )
    items = [(line.sku, line.quantity) for line in order.lines if line.kind is LineKind.ITEM]
    assert items == [(sku, Decimal(n)) for sku, n in wanted], (
        f"{what}: item lines {items}, but the order was placed with {wanted}"
    )
    freight_lines = [line for line in order.lines if line.kind is LineKind.FREIGHT]
    assert freight_lines, f"{what}: the order has {freight} freight but no freight line"
    assert order.customer.email == KIT_EMAIL, (
        f"{what}: customer e-mail {order.customer.email!r}, expected {KIT_EMAIL!r}"
    )
    for name in ("created_at", "modified_at"):
        when: datetime = getattr(order, name)
        assert when.tzinfo is not None and when.utcoffset() == timedelta(0), (
            f"{what}: {name} {when!r} is not aware UTC"
        )
    document = build_document(
        order,
        reference=f"kit:{order_id}",
        document_type=DocumentType.INVOICE,
        customer_number="1",
        fee_articles=FeeArticles(),
    )
    assert document.totals.gross == round_money(order.total), (
        f"{what}: the document built from the order totals {document.totals.gross}, "
        f"the order {order.total}"
    )


async def check_mark_exported(sim: ShopSimulator, adapter: ShopAdapter) -> None:
    """``mark_exported`` records the document number on that order only, and a repeat is
    harmless (same number, no error)."""
    order_id, other = _place(sim), _place(sim)
    assert sim.exported_document(order_id) is None, "a new order already has a document"
    document = DocumentRef(
        document_type=DocumentType.INVOICE, number="10001", reference=f"kit:{order_id}"
    )
    await adapter.mark_exported(order_id, document)
    found = sim.exported_document(order_id)
    assert found == "10001", f"after mark_exported the shop holds {found!r}, not '10001'"
    await adapter.mark_exported(order_id, document)
    found = sim.exported_document(order_id)
    assert found == "10001", f"a repeated mark_exported left {found!r}, not '10001'"
    assert sim.exported_document(other) is None, (
        f"mark_exported({order_id!r}) also marked order {other}"
    )


async def check_shop_fault(sim: ShopSimulator, adapter: ShopAdapter, kind: FaultKind) -> None:
    """A 5xx (``status``), a 429 (``rate_limit``), a timeout or a dropped connection on
    ``fetch_order`` is a TransientError (a 429's carries ``retry_after``), and the adapter
    works again once the fault is gone."""
    order_id = _place(sim)
    await adapter.fetch_order(order_id)  # signed in: the fault hits the order request
    await expect_transient_fault(
        sim.faults, kind, lambda: adapter.fetch_order(order_id), f"fetch_order({order_id!r})"
    )
    order = await adapter.fetch_order(order_id)
    assert order.shop_order_id == order_id, "the adapter did not recover after the fault"


def scramble(raw: dict[str, Any]) -> None:
    """The kit's default garbage: every top-level number of the order's JSON, ids aside,
    becomes a word (and, if it has none, every other top-level value becomes an object)."""
    changed = False
    for key, value in list(raw.items()):
        if key.lower().endswith("id"):
            continue
        if type(value) is not bool and isinstance(value, numbers.Number):
            raw[key] = "garbage"
            changed = True
    if not changed:
        for key in list(raw):
            if not key.lower().endswith("id"):
                raw[key] = {"kit": "garbage"}


async def check_garbage(
    sim: ShopSimulator,
    adapter: ShopAdapter,
    mangle: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """An order whose JSON the simulator mangles into wrong types (``mangle``, default
    :func:`scramble`) makes ``fetch_order`` raise a PermanentError that names the order.

    Needs the simulator hook ``mangle_order(shop_order_id, mangle)``.
    """
    hook = getattr(sim, "mangle_order", None)
    if not callable(hook):
        raise NotSupported(
            f"the {type(sim).__name__} simulator has no mangle_order(shop_order_id, mangle) "
            "hook, so the kit cannot serve a garbled order"
        )
    order_id = _place(sim)
    hook(order_id, mangle or scramble)
    what = f"fetch_order({order_id!r}) of a garbled order"
    error = await expect_permanent(lambda: adapter.fetch_order(order_id), what)
    assert order_id in str(error), f"{what}: the error does not name the order: {error}"
