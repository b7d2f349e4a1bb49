"""Catalog state a claim reads for its handler: what was last written, and stock held by orders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from brygga.store.db import Tx

__all__ = [
    "ORDER_FETCH_LIMIT",
    "OrderLines",
    "PendingOrder",
    "Reads",
    "Reservations",
    "read_reservations",
    "read_written",
    "record_order_lines",
    "record_written",
]

#: at most this many orders without known lines are handed to one claim (the handler fetches
#: them); when there are more, ``Reservations.more`` says so
ORDER_FETCH_LIMIT = 25
#: order states in which its stock is still held: received, not (yet) in the ERP
_HOLDING = ("waiting", "new", "sending", "reconcile", "retry", "failed")


@dataclass(frozen=True)
class Reads:
    """What a claim reads for its handler in the claim's transaction, besides the binding."""

    #: the content hash last written under the item's key (``WorkItem.written``)
    written: bool = False
    #: registers whose value written for the same record (same instance and id) the claim
    #: reads too (``WorkItem.written_of``), e.g. what the orders flow recorded at transfer
    written_of: tuple[str, ...] = ()
    #: the register whose unfinished items hold stock (``"orders"``): the claim reads how much
    #: of the item's SKU they hold (``WorkItem.reserved``); "" reads nothing
    reserved_by: str = ""


@dataclass(frozen=True)
class PendingOrder:
    """An order still holding stock whose lines the store does not know yet."""

    item_id: int
    instance: str
    external_id: str


@dataclass(frozen=True)
class Reservations:
    """How much of one SKU the connection's unfinished orders hold, as far as the store knows.

    ``quantity`` sums the known lines; the orders in ``unknown`` hold stock too but their lines
    are not recorded yet (the handler fetches them and records them with its outcome);
    ``more``: there are further such orders beyond ``unknown``."""

    quantity: Decimal
    unknown: tuple[PendingOrder, ...] = ()
    more: bool = False


@dataclass(frozen=True)
class OrderLines:
    """The SKU quantities of one order (its work item), recorded with an outcome."""

    item_id: int
    quantities: tuple[tuple[str, Decimal], ...]


def read_written(tx: Tx, connection: str, register: str, instance: str, external_id: str) -> str:
    row = tx.execute(
        "SELECT hash FROM written WHERE connection = ? AND register = ? AND instance = ?"
        " AND external_id = ?",
        (connection, register, instance, external_id),
    ).fetchone()
    return str(row["hash"]) if row else ""


def record_written(
    tx: Tx,
    connection: str,
    register: str,
    instance: str,
    external_id: str,
    content_hash: str,
    stamp: str,
) -> None:
    tx.execute(
        "INSERT INTO written (connection, register, instance, external_id, hash, written_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (connection, register, instance, external_id)"
        " DO UPDATE SET hash = excluded.hash, written_at = excluded.written_at",
        (connection, register, instance, external_id, content_hash, stamp),
    )


def read_reservations(tx: Tx, connection: str, register: str, sku: str) -> Reservations:
    """What the unfinished items of ``register`` (orders) of ``connection`` hold of ``sku``."""
    marks = ", ".join("?" for _ in _HOLDING)
    rows = tx.execute(
        "SELECT l.quantity FROM order_lines l JOIN work_items w ON w.id = l.work_item_id"
        f" WHERE l.sku = ? AND w.connection = ? AND w.register = ? AND w.state IN ({marks})",
        (sku, connection, register, *_HOLDING),
    ).fetchall()
    unknown = tx.execute(
        "SELECT id, instance, external_id FROM work_items w WHERE connection = ?"
        f" AND register = ? AND state IN ({marks}) AND NOT EXISTS"
        " (SELECT 1 FROM order_lines l WHERE l.work_item_id = w.id AND l.sku = '')"
        " ORDER BY id LIMIT ?",
        (connection, register, *_HOLDING, ORDER_FETCH_LIMIT + 1),
    ).fetchall()
    pending = tuple(PendingOrder(r["id"], r["instance"], r["external_id"]) for r in unknown)
    return Reservations(
        quantity=sum((Decimal(r["quantity"]) for r in rows), Decimal(0)),
        unknown=pending[:ORDER_FETCH_LIMIT],
        more=len(pending) > ORDER_FETCH_LIMIT,
    )


def record_order_lines(tx: Tx, lines: Sequence[OrderLines]) -> None:
    """Record each order's SKU quantities (and the mark that they are known); an order
    recorded already (by another worker) is left as it is."""
    for order in lines:
        rows = [(order.item_id, "", "0")]
        rows += [(order.item_id, sku, str(qty)) for sku, qty in order.quantities if sku]
        tx.executemany(
            "INSERT INTO order_lines (work_item_id, sku, quantity) SELECT ?, ?, ?"
            " WHERE EXISTS (SELECT 1 FROM work_items WHERE id = ?)"
            " ON CONFLICT (work_item_id, sku) DO NOTHING",
            [(*row, order.item_id) for row in rows],
        )
