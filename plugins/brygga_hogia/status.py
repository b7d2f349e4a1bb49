"""What became of Hogia Smart invoices (StatusSource): billed, paid, cancelled.

Modelled on the read model third-party clients show (reference/erp-apis.md §4.2 [H4]):
``isBilled`` is invoiced, ``isCustomerPaid`` (or a billed invoice with ``amountLeftToPay`` 0)
is paid, ``isCanceled`` is cancelled. Invoices are read directly in Hogia (wire assumption
4), 50 per request; one missing from the answer is left out (asked again), never cancelled.
Hogia Smart has no delivery state.
"""

from __future__ import annotations

from collections.abc import Sequence

from brygga.models import DocumentRef, DocumentState, DocumentType, OrderEvent
from brygga_hogia import wire
from brygga_hogia.api import HogiaApi

__all__ = ["STATUS_EVENTS", "document_states", "invoice_events"]

STATUS_EVENTS = frozenset({OrderEvent.INVOICED, OrderEvent.PAID, OrderEvent.CANCELLED})
_BATCH = 50


def invoice_events(invoice: wire.Invoice) -> frozenset[OrderEvent]:
    """The events an invoice's flags show."""
    events = {OrderEvent.TRANSFERRED}
    if invoice.is_canceled:
        events.add(OrderEvent.CANCELLED)
        return frozenset(events)
    if invoice.is_billed:
        events.add(OrderEvent.INVOICED)
        if invoice.is_customer_paid or invoice.amount_left_to_pay == 0:
            events.add(OrderEvent.PAID)
    return frozenset(events)


async def document_states(api: HogiaApi, documents: Sequence[DocumentRef]) -> list[DocumentState]:
    """One state per asked invoice Hogia answered for, matched by id and reference."""
    asked = {d.number: d for d in documents if d.document_type is DocumentType.INVOICE}
    ids = sorted(asked)
    states: list[DocumentState] = []
    for start in range(0, len(ids), _BATCH):
        chunk = ",".join(ids[start : start + _BATCH])
        async for invoice in api.pages(
            "customerinvoices",
            wire.Invoice,
            f"the state of invoices {chunk}",
            params={"customerInvoiceIds": chunk},
        ):
            ref = asked.pop(invoice.customer_invoice_id, None)
            if ref is None or invoice.reference() != ref.reference:
                continue
            states.append(
                DocumentState(
                    reference=ref.reference,
                    number=invoice.customer_invoice_id,
                    booked=invoice.is_billed,
                    events=invoice_events(invoice),
                )
            )
    return states
