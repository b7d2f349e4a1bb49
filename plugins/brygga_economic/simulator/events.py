"""What a person does to a sales document in the simulated e-conomic: book, pay, upgrade, delete.

Documented (e-conomic/slate ``_invoices.md``, ``_orders.md``): a booked invoice carries
``remainder`` (0 when paid in full); a draft invoice and draft or sent orders can be deleted,
a booked invoice cannot; an order registered as sent moves to ``/orders/archived`` when it is
upgraded to an invoice draft. Modelled: upgrading a draft order registers it as sent first
(the docs name only sent orders); the upgrade's draft invoice copies the order (customer,
lines, ``references``) the way the upgrade template would; a payment is registered in full at
once (e-conomic books it through a cash journal, which the simulator does not have).
"""

from __future__ import annotations

from decimal import Decimal

from brygga.models import OrderEvent
from brygga_economic.simulator.documents import Documents, StoredDocument

__all__ = ["apply_event"]

_ZERO = Decimal("0.00")
_ORDER_KEYS = ("orderNumber", "self")


def _reference(document: StoredDocument) -> str:
    references = document.body.get("references")
    return str(references.get("other", "")) if isinstance(references, dict) else ""


def _with_reference(table: dict[int, StoredDocument], reference: str) -> list[StoredDocument]:
    return [table[n] for n in sorted(table) if _reference(table[n]) == reference]


def apply_event(docs: Documents, reference: str, event: OrderEvent) -> None:
    """Do to the documents with ``reference`` what a person in e-conomic does for ``event``
    (see ``EconomicSimulator.order_event``); ValueError when e-conomic cannot."""
    if event in (OrderEvent.DELIVERED, OrderEvent.PARTIALLY_DELIVERED):
        raise ValueError(
            f"{event.value}: e-conomic has no delivered state (the orders API does not expose "
            "the inventory delivery flow)"
        )
    if event is OrderEvent.TRANSFERRED:
        raise ValueError("transferred is brygga's own event; create the document instead")
    drafts = _with_reference(docs.draft_invoices, reference)
    booked = _with_reference(docs.booked_invoices, reference)
    open_orders = [
        *_with_reference(docs.draft_orders, reference),
        *_with_reference(docs.sent_orders, reference),
    ]
    archived = _with_reference(docs.archived_orders, reference)
    if not (drafts or booked or open_orders or archived):
        raise ValueError(f"no invoice or order has the reference {reference!r}")
    if event is OrderEvent.INVOICED:
        if open_orders:
            for order in open_orders:
                _upgrade(docs, order)
        else:
            for draft in drafts:
                _book(docs, draft)
    elif event is OrderEvent.PAID:
        if not (drafts or booked):
            raise ValueError(
                f"{reference!r}: e-conomic orders are not paid; invoice the order first"
            )
        for invoice in [*(_book(docs, draft) for draft in drafts), *booked]:
            _pay(invoice)
    elif event is OrderEvent.CANCELLED:
        if booked or archived:
            raise ValueError(
                f"{reference!r}: a booked invoice or an archived order cannot be deleted in "
                "e-conomic (credit the invoice instead)"
            )
        for draft in drafts:
            del docs.draft_invoices[draft.number]
        for order in open_orders:
            docs.draft_orders.pop(order.number, None)
            docs.sent_orders.pop(order.number, None)


def _book(docs: Documents, draft: StoredDocument) -> StoredDocument:
    return docs.book({"draftInvoice": {"draftInvoiceNumber": draft.number}})


def _pay(invoice: StoredDocument) -> None:
    invoice.body.update(remainder=_ZERO, remainderInBaseCurrency=_ZERO)


def _upgrade(docs: Documents, order: StoredDocument) -> None:
    """Register the order as sent (if it is a draft), archive it, and create its draft
    invoice."""
    number = order.number
    docs.draft_orders.pop(number, None)
    docs.sent_orders.pop(number, None)
    body = {**order.body, "self": f"/orders/archived/{number}"}
    docs.archived_orders[number] = StoredDocument(
        "archived_order", number, body, dict(order.vat_by_rate)
    )
    docs.create_draft_invoice({k: v for k, v in order.body.items() if k not in _ORDER_KEYS})
