"""The small per-register protocols adapters implement, and the registers each one provides."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Literal, NamedTuple, Protocol, runtime_checkable

from brygga.documents import Document
from brygga.models import Customer, DocumentRef, DocumentType, Order, OrderChange, Register

__all__ = [
    "PROVIDES",
    "Direction",
    "DocumentSink",
    "ExportMark",
    "OrderSource",
    "Registers",
    "StatusSink",
    "protocols_for",
    "protocols_of",
    "registers_of",
]

#: ``reads``: the adapter's system can be a register's source; ``writes``: its target
Direction = Literal["reads", "writes"]


@runtime_checkable
class OrderSource(Protocol):
    """A shop's orders: a feed of changed orders and each order in full."""

    def changed_orders(self, since: datetime, until: datetime) -> AsyncIterator[OrderChange]:
        """Yield orders modified in ``[since, until)`` (aware UTC), in (modified_at, id) order.

        May yield an order more than once (drifting pages); callers dedupe. Implement it as an
        ``async def`` generator.
        """
        ...

    async def fetch_order(self, shop_order_id: str) -> Order:
        """The full order with lines and customer. Raises PermanentError when the shop's data
        cannot be mapped (the message names the order and the field)."""
        ...


@runtime_checkable
class ExportMark(Protocol):
    """A shop that notes on an order which ERP document it became (the orders flow's
    write-back)."""

    async def mark_exported(self, shop_order_id: str, document: DocumentRef) -> None:
        """Record the ERP document number on the shop order (idempotent)."""
        ...


@runtime_checkable
class StatusSink(Protocol):
    """A shop that takes order statuses from the ERP (delivered, cancelled, …)."""

    async def set_status(
        self,
        shop_order_id: str,
        status_id_code: str,
        *,
        email: bool,
        capture: bool,
        tracking_number: str = "",
    ) -> None:
        """Give the order the shop status ``status_id_code`` (what a ``[connection.status]``
        rule names as ``shop_status``). ``email``: the shop tells the customer; ``capture``:
        the shop captures the reserved payment; both for this change only. Idempotent:
        nothing is written when the order already has the status and tracking number."""
        ...


@runtime_checkable
class DocumentSink(Protocol):
    """An ERP that takes orders as documents (invoices or orders) for its customers."""

    async def find_customer(self, customer: Customer, match_on: Sequence[str]) -> str | None:
        """The ERP customer number of the first match, trying ``match_on`` keys in order
        (``customer_number``, ``email``, ``org_number``); None when nothing matches."""
        ...

    async def create_customer(self, customer: Customer, currency: str) -> str:
        """Create the customer; return its ERP customer number."""
        ...

    async def find_document(
        self, reference: str, document_type: DocumentType
    ) -> DocumentRef | None:
        """The document created with this external reference, or None."""
        ...

    async def create_document(self, document: Document) -> DocumentRef:
        """Create (and book, when ``document.book``) the document. Raises PermanentError for
        unknown articles or VAT rates, naming the order, the row and the fix."""
        ...


#: The one place that says which register each protocol provides, and which way. A protocol
#: cannot carry this itself: every attribute of a Protocol is a member implementers must have.
#: ExportMark provides no register of its own: it is the orders flow's write-back, and every
#: shop adapter has it (``ShopAdapter``).
PROVIDES: dict[type, tuple[tuple[Register, Direction], ...]] = {
    OrderSource: ((Register.ORDERS, "reads"),),
    ExportMark: (),
    StatusSink: ((Register.STATUS, "writes"),),
    DocumentSink: ((Register.ORDERS, "writes"),),
}


class Registers(NamedTuple):
    """What an adapter class can be the source (``reads``) and target (``writes``) of."""

    reads: frozenset[Register]
    writes: frozenset[Register]


def protocols_of(adapter: type) -> tuple[type, ...]:
    """The per-register protocols ``adapter`` implements (by its methods: declaring them as
    base classes is optional, but lets mypy check the signatures)."""
    return tuple(protocol for protocol in PROVIDES if issubclass(adapter, protocol))


def registers_of(adapter: type) -> Registers:
    """What ``adapter`` reads and writes, derived from the protocols it implements."""
    provided = [pair for protocol in protocols_of(adapter) for pair in PROVIDES[protocol]]
    return Registers(
        reads=frozenset(r for r, direction in provided if direction == "reads"),
        writes=frozenset(r for r, direction in provided if direction == "writes"),
    )


def protocols_for(register: Register, direction: Direction) -> tuple[type, ...]:
    """The protocols an adapter implements to read or write ``register`` (none yet for the
    registers this version does not run)."""
    return tuple(p for p, pairs in PROVIDES.items() if (register, direction) in pairs)
