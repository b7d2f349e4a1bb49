"""The shop battery's order-status checks: a StatusSink's statuses, writes, repeats and faults.

Each check places its own order. The status an order has is read back through
``fetch_order(...).status``, so a shop adapter must report order statuses in the same codes
``order_statuses()`` lists (the codes a ``[connection.status]`` rule names). A shop adapter
that does not implement :class:`~brygga.registers.StatusSink` makes every check raise
:class:`~brygga.testing.conformance.harness.NotSupported`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from brygga.adapters import ShopAdapter
from brygga.errors import TransientError
from brygga.registers import StatusSink
from brygga.testing.conformance.common import expect_permanent
from brygga.testing.conformance.harness import NotSupported
from brygga.testing.conformance.shop import KIT_EMAIL
from brygga.testing.simulators import Fault, ShopSimulator

__all__ = [
    "UNKNOWN_STATUS",
    "WRITE_METHODS",
    "check_order_statuses",
    "check_set_status",
    "check_set_status_fault",
    "check_unknown_status",
    "status_sink",
]

#: a status code no shop has
UNKNOWN_STATUS = "kit-no-such-status-7c1"
#: the HTTP methods that write (a status change must use one; reads never do)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def status_sink(adapter: ShopAdapter) -> StatusSink:
    """``adapter`` as a StatusSink, or NotSupported naming what it lacks."""
    if not isinstance(adapter, StatusSink):
        raise NotSupported(
            f"{type(adapter).__name__} does not implement brygga.registers.StatusSink "
            "(order_statuses and set_status), so it cannot take order statuses"
        )
    return adapter


def _place(sim: ShopSimulator) -> str:
    skus = sim.catalog_skus()
    assert skus, "the simulator's catalog_skus() is empty; the kit needs one SKU to order"
    return sim.place_order(lines=[(skus[0], 1)], email=KIT_EMAIL)


def _writes(sim: ShopSimulator) -> int | None:
    """How many writing requests the simulator has seen, when it logs its requests as
    ``requests`` (a list of ``(method, path)``); None when it does not."""
    log: Any = getattr(sim, "requests", None)
    if not isinstance(log, list):
        return None
    return sum(1 for entry in log if isinstance(entry, tuple) and entry[0] in WRITE_METHODS)


async def _statuses(sink: StatusSink) -> list[str]:
    statuses = list(await sink.order_statuses())
    assert statuses, "order_statuses() is empty: the shop must have order statuses to set"
    return statuses


async def _another_status(
    adapter: ShopAdapter, sink: StatusSink, shop_order_id: str
) -> tuple[str, str]:
    """The order's status now and a status from ``order_statuses()`` it does not have."""
    current = (await adapter.fetch_order(shop_order_id)).status
    others = [s for s in await _statuses(sink) if s != current]
    assert others, (
        f"order {shop_order_id} has status {current!r} and order_statuses() lists no other, "
        "so the kit cannot change it"
    )
    return current, others[0]


async def check_order_statuses(sim: ShopSimulator, adapter: ShopAdapter) -> None:
    """``order_statuses()`` lists the shop's statuses: at least one, each a non-empty code,
    none twice; and a new order's status (``fetch_order(...).status``) is one of them."""
    sink = status_sink(adapter)
    statuses = await _statuses(sink)
    blank = [s for s in statuses if not isinstance(s, str) or not s.strip()]
    assert not blank, f"order_statuses() lists codes that are not non-empty text: {blank!r}"
    twice = sorted({s for s in statuses if statuses.count(s) > 1})
    assert not twice, f"order_statuses() lists {twice} more than once"
    order_id = _place(sim)
    status = (await adapter.fetch_order(order_id)).status
    assert status in statuses, (
        f"fetch_order({order_id!r}).status is {status!r}, which order_statuses() does not "
        f"list ({', '.join(statuses)}); report statuses in the codes status rules name"
    )


async def check_set_status(sim: ShopSimulator, adapter: ShopAdapter) -> None:
    """``set_status`` to another status the shop has returns True and the order then has it
    (read back with ``fetch_order``), another order keeps its status, and the same call
    again returns False and writes nothing (checked on the simulator's ``requests`` log
    when it keeps one)."""
    sink = status_sink(adapter)
    order_id, other = _place(sim), _place(sim)
    before, target = await _another_status(adapter, sink, order_id)
    other_before = (await adapter.fetch_order(other)).status
    what = f"set_status({order_id!r}, {target!r})"
    wrote = await sink.set_status(order_id, target, email=False, capture=False)
    assert wrote is True, f"{what} on an order with status {before!r} returned {wrote!r}, not True"
    now = (await adapter.fetch_order(order_id)).status
    assert now == target, f"after {what} fetch_order says the order has status {now!r}"
    other_now = (await adapter.fetch_order(other)).status
    assert other_now == other_before, (
        f"{what} also changed order {other}: {other_before!r} became {other_now!r}"
    )
    writes = _writes(sim)
    again = await sink.set_status(order_id, target, email=False, capture=False)
    assert again is False, f"{what} repeated on an order that has it returned {again!r}, not False"
    if writes is not None:
        extra = (_writes(sim) or 0) - writes
        assert extra == 0, f"{what} repeated on an order that has it made {extra} write requests"
    now = (await adapter.fetch_order(order_id)).status
    assert now == target, f"after the repeated {what} the order has status {now!r}"


async def check_unknown_status(sim: ShopSimulator, adapter: ShopAdapter) -> None:
    """A status the shop does not have is a PermanentError naming it, and nothing is
    written."""
    sink = status_sink(adapter)
    order_id = _place(sim)
    before = (await adapter.fetch_order(order_id)).status
    writes = _writes(sim)
    what = f"set_status({order_id!r}, {UNKNOWN_STATUS!r}), a status the shop does not have"
    error = await expect_permanent(
        lambda: sink.set_status(order_id, UNKNOWN_STATUS, email=False, capture=False), what
    )
    assert UNKNOWN_STATUS in str(error), f"{what}: the error does not name the status: {error}"
    if writes is not None:
        extra = (_writes(sim) or 0) - writes
        assert extra == 0, f"{what}: it made {extra} write requests"
    now = (await adapter.fetch_order(order_id)).status
    assert now == before, f"{what}: the order's status went from {before!r} to {now!r}"


async def check_set_status_fault(
    sim: ShopSimulator, adapter: ShopAdapter, methods: Sequence[str] = tuple(WRITE_METHODS)
) -> None:
    """A 500 answer to the status write (the next request with one of ``methods``) is a
    TransientError, and the same call afterwards writes the status (True)."""
    sink = status_sink(adapter)
    order_id = _place(sim)
    before, target = await _another_status(adapter, sink, order_id)
    what = f"set_status({order_id!r}, {target!r}) with a 500 on the write"
    fired = sim.faults.fired.get("status", 0)
    sim.faults.add(Fault("status", methods=frozenset(methods), status=500, times=1))
    try:
        result = await sink.set_status(order_id, target, email=False, capture=False)
    except TransientError:
        pass
    except Exception as exc:
        raise AssertionError(
            f"{what}: expected TransientError, got {type(exc).__name__}: {exc}"
        ) from exc
    else:
        raise AssertionError(f"{what}: expected TransientError, but it returned {result!r}")
    finally:
        sim.faults.clear()
    assert sim.faults.fired.get("status", 0) == fired + 1, (
        f"{what}: the 500 never fired, so set_status made no {'/'.join(sorted(methods))} request"
    )
    wrote = await sink.set_status(order_id, target, email=False, capture=False)
    assert wrote is True, f"{what}, called again after the fault, returned {wrote!r}, not True"
    now = (await adapter.fetch_order(order_id)).status
    assert now == target, (
        f"{what}, called again after the fault: the order has status {now!r} (was {before!r})"
    )
