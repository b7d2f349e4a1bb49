"""Tryton order status: what became of the sales brygga created (StatusSource).

Read by reference (``sale.sale.reference``), in three reads per batch: the sales, their
invoices, their customer shipments. From trytond 8.2 ``modules/sale/sale.py``
(``get_invoice_state``, ``get_shipment_state``) and ``account_invoice``/``stock`` states:

- ``invoiced``: an invoice of the sale is ``posted`` or ``paid``.
- ``paid``: the sale has invoices and all of them (not cancelled) are ``paid``, or the sale's
  ``invoice_state`` is ``paid``.
- ``delivered``: the sale's ``shipment_state`` is ``sent``, or it has customer shipments and
  all of them (not cancelled) are ``done``; ``partially_delivered``: ``partially shipped``, or
  some shipment done.
- ``cancelled``: the sale is ``cancelled`` (Tryton cancels only draft and quoted sales, so a
  cancelled sale was never confirmed), or it is gone and brygga never saw it booked (only
  draft and cancelled sales can be deleted). A booked sale that is gone is inconclusive and
  left out, with a warning.

Tryton's base modules keep no tracking number on customer shipments, so none is reported.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from brygga.models import DocumentRef, DocumentState, DocumentType, OrderEvent
from brygga_tryton import wire
from brygga_tryton.api import TrytonApi

__all__ = ["STATUS_EVENTS", "document_states"]

log = logging.getLogger(__name__)

STATUS_EVENTS = frozenset(
    {
        OrderEvent.INVOICED,
        OrderEvent.PAID,
        OrderEvent.DELIVERED,
        OrderEvent.PARTIALLY_DELIVERED,
        OrderEvent.CANCELLED,
    }
)

#: references asked for per search (one domain clause ``reference in [...]``)
BATCH = 100

_SALE_FIELDS = [
    "id",
    "reference",
    "number",
    "state",
    "invoice_state",
    "shipment_state",
    "invoices",
    "shipments",
]


async def document_states(api: TrytonApi, documents: Sequence[DocumentRef]) -> list[DocumentState]:
    """The conclusive states of ``documents``, in their order (see the module notes)."""
    found: dict[DocumentRef, DocumentState] = {}
    askable = [d for d in documents if d.reference]
    for start in range(0, len(askable), BATCH):
        batch = askable[start : start + BATCH]
        found |= await _batch(api, batch)
    return [found[d] for d in documents if d in found]


async def _batch(
    api: TrytonApi, documents: Sequence[DocumentRef]
) -> dict[DocumentRef, DocumentState]:
    references = sorted({d.reference for d in documents})
    sales = await api.search_read(
        "sale.sale", [["reference", "in", references]], _SALE_FIELDS, wire.SaleRow
    )
    by_reference: dict[str, wire.SaleRow] = {}
    for row in sorted(sales, key=lambda s: s.id):
        if row.reference is not None:
            by_reference.setdefault(row.reference, row)
    invoice_ids = sorted({i for s in by_reference.values() for i in s.invoices})
    shipment_ids = sorted({i for s in by_reference.values() for i in s.shipments})
    invoices = {
        i.id: i
        for i in await api.read(
            "account.invoice", invoice_ids, ["id", "number", "state"], wire.InvoiceRow
        )
    }
    shipments = {
        s.id: s
        for s in await api.read(
            "stock.shipment.out", shipment_ids, ["id", "number", "state"], wire.ShipmentRow
        )
    }
    result: dict[DocumentRef, DocumentState] = {}
    for document in documents:
        sale = by_reference.get(document.reference)
        if sale is None:
            if document.booked:
                log.warning(
                    "tryton: the sale with reference %r (last seen booked as %s) is gone; its "
                    "status is not read",
                    document.reference,
                    document.number,
                )
                continue
            result[document] = DocumentState(
                reference=document.reference,
                number=document.number or document.reference,
                events=frozenset({OrderEvent.CANCELLED}),
            )
            continue
        mine = [invoices[i] for i in sale.invoices if i in invoices]
        ships = [shipments[i] for i in sale.shipments if i in shipments]
        result[document] = _state(document, sale, mine, ships)
    return result


def _state(
    document: DocumentRef,
    sale: wire.SaleRow,
    invoices: list[wire.InvoiceRow],
    shipments: list[wire.ShipmentRow],
) -> DocumentState:
    events: set[OrderEvent] = set()
    if sale.state == "cancelled":
        events.add(OrderEvent.CANCELLED)
    posted = [i for i in invoices if i.state in ("posted", "paid")]
    live_invoices = [i for i in invoices if i.state != "cancelled"]
    if posted:
        events.add(OrderEvent.INVOICED)
    if sale.invoice_state == "paid" or (
        live_invoices and all(i.state == "paid" for i in live_invoices)
    ):
        events |= {OrderEvent.INVOICED, OrderEvent.PAID}
    live_shipments = [s for s in shipments if s.state != "cancelled"]
    if sale.shipment_state == "sent" or (
        live_shipments and all(s.state == "done" for s in live_shipments)
    ):
        events.add(OrderEvent.DELIVERED)
    elif sale.shipment_state == "partially shipped" or any(
        s.state == "done" for s in live_shipments
    ):
        events.add(OrderEvent.PARTIALLY_DELIVERED)
    booked = sale.state in ("confirmed", "processing", "done")
    number = sale.number or f"#{sale.id}"
    if document.document_type == DocumentType.INVOICE:
        numbered = sorted((i for i in posted if i.number), key=lambda i: i.id)
        booked = bool(numbered) and len(posted) == len(live_invoices)
        if numbered:
            number = str(numbered[0].number)
    return DocumentState(
        reference=document.reference, number=number, booked=booked, events=frozenset(events)
    )
