"""What became of Specter documents (StatusSource): deliveries, invoicing, payment, cancelling.

Modelled (assumption 10 of :mod:`brygga_specter.wire`): orders report ``PartlyDelivered`` /
``Delivered`` / ``Invoiced`` / ``Cancelled`` and per-row ordered and delivered quantities
(§3.2: partial delivery per order row [S7]); invoices ``Booked`` (invoiced), a remaining
amount of 0 when booked (paid) and ``Cancelled`` (a preliminary invoice removed). Many
documents are read in one request per 50 numbers; a document missing from the answer is left
out (asked again later), never reported cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence

from brygga.models import DocumentRef, DocumentState, DocumentType, OrderEvent
from brygga_specter import wire
from brygga_specter.api import SpecterApi

__all__ = ["STATUS_EVENTS", "document_states", "invoice_events", "order_events"]

STATUS_EVENTS = frozenset(
    {
        OrderEvent.PARTIALLY_DELIVERED,
        OrderEvent.DELIVERED,
        OrderEvent.INVOICED,
        OrderEvent.PAID,
        OrderEvent.CANCELLED,
    }
)
_BATCH = 50


def order_events(order: wire.Order) -> frozenset[OrderEvent]:
    """The events an order's status and rows show."""
    events = {OrderEvent.TRANSFERRED}
    if order.status == "Cancelled":
        return frozenset({*events, OrderEvent.CANCELLED})
    rows = [r for r in order.rows if r.ordered_quantity > 0]
    delivered = [r for r in rows if r.delivered_quantity >= r.ordered_quantity]
    some = any(r.delivered_quantity > 0 for r in rows)
    if order.status in ("Delivered", "Invoiced") or (rows and len(delivered) == len(rows)):
        events.add(OrderEvent.DELIVERED)
    elif order.status == "PartlyDelivered" or some:
        events.add(OrderEvent.PARTIALLY_DELIVERED)
    if order.status == "Invoiced" or order.invoice_no:
        events.add(OrderEvent.INVOICED)
    return frozenset(events)


def invoice_events(invoice: wire.Invoice) -> frozenset[OrderEvent]:
    """The events an invoice's status and remaining amount show."""
    events = {OrderEvent.TRANSFERRED}
    if invoice.status == "Cancelled":
        events.add(OrderEvent.CANCELLED)
    elif invoice.status == "Booked":
        events.add(OrderEvent.INVOICED)
        if invoice.remaining_amount is not None and invoice.remaining_amount == 0:
            events.add(OrderEvent.PAID)
    return frozenset(events)


async def document_states(api: SpecterApi, documents: Sequence[DocumentRef]) -> list[DocumentState]:
    """One state per asked document Specter answered for, matched by number and reference."""
    states: list[DocumentState] = []
    for kind in (DocumentType.INVOICE, DocumentType.ORDER):
        asked = {d.number: d for d in documents if d.document_type is kind}
        numbers = sorted(asked)
        for start in range(0, len(numbers), _BATCH):
            chunk = ",".join(numbers[start : start + _BATCH])
            what = f"the state of {kind.value}s {chunk}"
            if kind is DocumentType.INVOICE:
                async for invoice in api.pages(
                    "invoices", wire.Invoice, what, params={"InvoiceNos": chunk}
                ):
                    ref = asked.pop(invoice.invoice_no, None)
                    if ref is not None and invoice.external_order_no == ref.reference:
                        states.append(
                            DocumentState(
                                reference=ref.reference,
                                number=invoice.invoice_no,
                                booked=invoice.status == "Booked",
                                events=invoice_events(invoice),
                            )
                        )
            else:
                async for order in api.pages(
                    "orders", wire.Order, what, params={"OrderNos": chunk}
                ):
                    ref = asked.pop(order.order_no, None)
                    if ref is not None and order.external_order_no == ref.reference:
                        states.append(
                            DocumentState(
                                reference=ref.reference,
                                number=order.order_no,
                                events=order_events(order),
                                tracking_number=order.tracking_no[:100],
                                carrier=order.delivery_method[:100],
                            )
                        )
    return states
