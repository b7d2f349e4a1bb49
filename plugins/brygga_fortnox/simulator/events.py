"""What a person does in Fortnox to a document (the ``order_event`` control surface).

- ``invoiced``: an invoice is booked (``bookkeep``); an order gets its invoice
  (``createinvoice``, reference §2.9: invoiced ⇐ ``InvoiceReference``).
- ``paid``: the invoice (booked first if needed; for an order, its invoice, created first if
  needed) gets a payment of its whole ``Balance`` (0 ⇒ fully paid, reference §2.6).
- ``cancelled``: ``PUT …/cancel`` (refused for a booked invoice or an invoiced order).
- ``delivered``/``partially_delivered``: not modelled (ValueError).
"""

from __future__ import annotations

from typing import Any

from brygga.models import OrderEvent
from brygga_fortnox.simulator import documents
from brygga_fortnox.simulator.errors import ApiError
from brygga_fortnox.simulator.state import SimState

__all__ = ["apply_event"]


def _with_reference(state: SimState, kind: str, reference: str) -> list[dict[str, Any]]:
    return [
        r for r in state.table(kind).values() if r.get("ExternalInvoiceReference1") == reference
    ]


def apply_event(state: SimState, reference: str, event: OrderEvent) -> None:
    """Make ``event`` happen to the documents with ``reference``; ValueError when it cannot."""
    invoices = _with_reference(state, "invoices", reference)
    orders = _with_reference(state, "orders", reference)
    if not invoices and not orders:
        raise ValueError(f"no Fortnox document has ExternalInvoiceReference1 {reference!r}")
    try:
        if event is OrderEvent.INVOICED:
            for order in orders:
                if not documents.linked(order, "InvoiceReference"):
                    documents.create_invoice_from_order(state, order["DocumentNumber"])
            for invoice in invoices:
                documents.book(state, invoice["DocumentNumber"])
        elif event is OrderEvent.PAID:
            targets = list(invoices)
            for order in orders:
                if not documents.linked(order, "InvoiceReference"):
                    documents.create_invoice_from_order(state, order["DocumentNumber"])
                linked = state.get("invoices", documents.linked(order, "InvoiceReference"))
                if linked is not None:
                    targets.append(linked)
            for invoice in targets:
                if not invoice["Booked"]:
                    documents.book(state, invoice["DocumentNumber"])
                documents.pay(state, invoice["DocumentNumber"], invoice["Balance"])
        elif event is OrderEvent.CANCELLED:
            for kind, rows in (("invoices", invoices), ("orders", orders)):
                for row in rows:
                    documents.cancel(state, kind, row["DocumentNumber"])
        else:
            raise ValueError(f"the Fortnox simulator models no {event.value} state")
    except ApiError as exc:
        raise ValueError(f"{event.value} for {reference!r}: {exc.message}") from None
