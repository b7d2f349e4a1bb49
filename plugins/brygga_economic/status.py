"""e-conomic order status: what became of the invoices and orders brygga created (StatusSource).

What e-conomic can tell (``CAPABILITIES.status_events``: invoiced, paid, cancelled). Facts are
from the vendor docs (e-conomic/slate ``source/includes/_invoices.md``, ``_orders.md``,
``_introduction.md``; reference/erp-apis.md §1.3, §1.6) unless marked [inferred] or [chosen]:

- e-conomic has no delivered and no partial-delivery state on invoices or orders (the orders
  API does not expose the inventory delivery flow), so ``delivered`` and
  ``partially_delivered`` are never reported, and tracking number and carrier stay empty.
- Invoices. A ``DocumentRef`` with ``booked=False`` carries a draft number. All of a batch's
  drafts are asked for in one ``GET /invoices/drafts?filter=draftInvoiceNumber$in:[…]``
  ($in: is documented for numeric properties, at most 200 values; that ``draftInvoiceNumber``
  is filterable is [inferred]: the schemas that say so are not in the stored docs). A draft
  counts only when its ``references.other`` equals the reference exactly. The rest are asked
  for by reference in ``GET /invoices/booked?filter=references.other$eq:…$or:…``, up to 20
  references and about 1,500 characters of filter per request (URL length, [chosen]);
  filtering on strings is case-insensitive, so only exact matches count. Found booked:
  ``invoiced``, the booked number, ``booked=True``, and ``paid`` when ``remainder`` is 0
  (the booked invoice's remainder; 0 means paid, reference §1.6). In neither: ``cancelled``
  (a draft can be deleted, ``DELETE /invoices/drafts/{n}``; a booked invoice cannot, so a
  document that was booked is never reported cancelled). The drafts are read first, so a
  draft booked between the two reads is found among the booked ones, never taken as
  deleted.
- A ``DocumentRef`` with ``booked=True`` carries a booked invoice number:
  ``GET /invoices/booked?filter=bookedInvoiceNumber$in:[…]`` → ``invoiced``, and ``paid``
  when ``remainder`` is 0. Several booked invoices with one reference (a credit note that
  copied it, say): the lowest number, the one booked first, counts [chosen].
- Orders (experimental in e-conomic): draft → sent → archived. Each batch asks
  ``/orders/drafts``, ``/orders/sent`` and ``/orders/archived`` with
  ``orderNumber$in:[…]`` (filterable by ``orderNumber``: [inferred], clients use it). An
  archived order is "an order that was first registered as sent and then upgraded to
  invoice draft" (documented): it is reported ``invoiced`` (it became an invoice; that
  invoice may still be a draft, [chosen]). A sent order can go back to drafts ("cancel sent
  status", documented), so an order found in none of the three is asked for once more in
  drafts before it is reported ``cancelled`` (draft and sent orders can be deleted; sent is
  no booking in the books, so a deleted sent order is cancelled too). That
  upgrading a *draft* order archives it too is [inferred]; the docs name only sent orders.
- Inconclusive answers are left out (asked again later): a number that now belongs to a
  document with another reference (a renumbered or reused number, or an edited reference)
  and is not found by its reference either, a booked invoice the booked list does not show,
  and a number that is no e-conomic number at all (a warning names the reference).
- A failed read raises (TransientError for 5xx, timeouts and 429; PermanentError for 4xx)
  and nothing of the batch is reported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import aclosing
from decimal import Decimal
from typing import TypeVar
from urllib.parse import quote

from brygga.models import DocumentRef, DocumentState, DocumentType, OrderEvent
from brygga_economic import wire
from brygga_economic.api import EconomicApi

__all__ = ["STATUS_EVENTS", "document_states"]

log = logging.getLogger(__name__)

#: the events e-conomic can report (no delivery state exists)
STATUS_EVENTS = frozenset({OrderEvent.INVOICED, OrderEvent.PAID, OrderEvent.CANCELLED})

#: documented: ``$in:`` takes at most 200 values
MAX_IN = 200
#: references per ``$or:`` chain, and the longest URL-encoded filter we send ([chosen])
MAX_OR = 20
MAX_FILTER = 1500
#: page size of the status reads (a batch's answer is rarely more than one page)
PAGE_SIZE = 100
_MAX_NUMBER = 999_999_999

_ORDER_PATHS = ("orders/drafts", "orders/sent", "orders/archived")

T = TypeVar("T")


async def document_states(
    api: EconomicApi, documents: Sequence[DocumentRef]
) -> list[DocumentState]:
    """The conclusive states of ``documents``, in their order (see the module notes)."""
    found: dict[DocumentRef, DocumentState] = {}
    askable = [d for d in documents if _askable(d)]
    invoices = [d for d in askable if d.document_type == DocumentType.INVOICE]
    orders = [d for d in askable if d.document_type == DocumentType.ORDER]
    if invoices:
        found |= await _draft_invoices(api, [d for d in invoices if not d.booked])
        found |= await _booked_invoices(api, [d for d in invoices if d.booked])
    if orders:
        found |= await _orders(api, orders)
    return [found[d] for d in documents if d in found]


def _askable(document: DocumentRef) -> bool:
    number = document.number.strip()
    if document.reference and number.isdigit() and 1 <= int(number) <= _MAX_NUMBER:
        return True
    log.warning(
        "economic: %s %r with reference %r cannot be looked up (e-conomic numbers documents "
        "1-999999999, and the reference must not be empty); its status is not read",
        document.document_type.value,
        document.number,
        document.reference,
    )
    return False


# --- invoices ------------------------------------------------------------------------------


def _booked_state(document: DocumentRef, invoice: wire.BookedInvoice) -> DocumentState:
    events = {OrderEvent.INVOICED}
    if invoice.remainder is not None and invoice.remainder == Decimal(0):
        events.add(OrderEvent.PAID)
    return DocumentState(
        reference=document.reference,
        number=str(invoice.booked_invoice_number),
        booked=True,
        events=frozenset(events),
    )


async def _draft_invoices(
    api: EconomicApi, documents: Sequence[DocumentRef]
) -> dict[DocumentRef, DocumentState]:
    """Drafts first, then the booked invoices by reference (the order matters: a draft
    booked in between is found among the booked)."""
    if not documents:
        return {}
    drafts = await _by_number(
        api,
        "invoices/drafts",
        wire.DraftInvoice,
        "draftInvoiceNumber",
        [int(d.number) for d in documents],
        lambda draft: draft.draft_invoice_number,
    )
    states: dict[DocumentRef, DocumentState] = {}
    rest: list[DocumentRef] = []
    for document in documents:
        rows = drafts.get(int(document.number), [])
        if any(row.references.other == document.reference for row in rows):
            states[document] = DocumentState(
                reference=document.reference, number=document.number, booked=False
            )
        else:
            rest.append(document)
    booked = await _booked_by_reference(api, [d.reference for d in rest])
    for document in rest:
        invoices = booked.get(document.reference)
        if invoices:
            first = min(invoices, key=lambda invoice: invoice.booked_invoice_number)
            states[document] = _booked_state(document, first)
        elif drafts.get(int(document.number)):
            log.warning(
                "economic: draft invoice %s now has another reference than %r and no booked "
                "invoice has it; its status is left open",
                document.number,
                document.reference,
            )
        else:
            states[document] = DocumentState(
                reference=document.reference,
                number=document.number,
                booked=False,
                events=frozenset({OrderEvent.CANCELLED}),
            )
    return states


async def _booked_invoices(
    api: EconomicApi, documents: Sequence[DocumentRef]
) -> dict[DocumentRef, DocumentState]:
    if not documents:
        return {}
    booked = await _by_number(
        api,
        "invoices/booked",
        wire.BookedInvoice,
        "bookedInvoiceNumber",
        [int(d.number) for d in documents],
        lambda invoice: invoice.booked_invoice_number,
    )
    states: dict[DocumentRef, DocumentState] = {}
    for document in documents:
        rows = booked.get(int(document.number), [])
        match = [row for row in rows if row.references.other == document.reference]
        if match:
            states[document] = _booked_state(document, match[0])
        else:
            log.warning(
                "economic: booked invoice %s with reference %r is %s; its status is left open",
                document.number,
                document.reference,
                "not in the booked invoices" if not rows else "there with another reference",
            )
    return states


async def _booked_by_reference(
    api: EconomicApi, references: Sequence[str]
) -> dict[str, list[wire.BookedInvoice]]:
    """Booked invoices by exact reference (the filter compares case-insensitively)."""
    wanted = set(references)
    found: dict[str, list[wire.BookedInvoice]] = {}
    for chain in _reference_filters(sorted(wanted)):
        items = api.pages(
            "invoices/booked",
            wire.BookedInvoice,
            "the booked invoices of the orders brygga watches",
            filter=chain,
            page_size=PAGE_SIZE,
        )
        async with aclosing(items):
            async for invoice in items:
                if invoice.references.other in wanted:
                    found.setdefault(invoice.references.other, []).append(invoice)
    return found


def _reference_filters(references: Sequence[str]) -> list[str]:
    """``references.other$eq:…$or:…`` chains, each at most MAX_OR references and about
    MAX_FILTER characters once URL-encoded (one long reference still gets its own)."""
    chains: list[str] = []
    terms: list[str] = []
    length = 0
    for reference in references:
        term = f"references.other$eq:{wire.escape_filter_value(reference)}"
        size = len(quote(term, safe="")) + len(quote("$or:", safe=""))
        if terms and (len(terms) >= MAX_OR or length + size > MAX_FILTER):
            chains.append("$or:".join(terms))
            terms, length = [], 0
        terms.append(term)
        length += size
    if terms:
        chains.append("$or:".join(terms))
    return chains


async def _by_number(
    api: EconomicApi,
    path: str,
    type_: type[T],
    prop: str,
    numbers: Sequence[int],
    number_of: Callable[[T], int],
) -> dict[int, list[T]]:
    """The items of ``path`` whose ``prop`` is one of ``numbers`` (``$in:`` batches)."""
    unique = sorted(set(numbers))
    found: dict[int, list[T]] = {}
    for start in range(0, len(unique), MAX_IN):
        chunk = unique[start : start + MAX_IN]
        items = api.pages(
            path,
            type_,
            f"the {path} of the orders brygga watches",
            filter=f"{prop}$in:[{','.join(str(n) for n in chunk)}]",
            page_size=PAGE_SIZE,
        )
        async with aclosing(items):
            async for item in items:
                found.setdefault(number_of(item), []).append(item)
    return found


# --- orders --------------------------------------------------------------------------------


async def _orders(
    api: EconomicApi, documents: Sequence[DocumentRef]
) -> dict[DocumentRef, DocumentState]:
    """Drafts, then sent, then archived (the way orders move); then drafts once more for
    those found nowhere (a sent order can be moved back to drafts between two reads)."""

    async def read(path: str, numbers: Sequence[int]) -> dict[int, list[wire.Order]]:
        return await _by_number(
            api, path, wire.Order, "orderNumber", numbers, lambda order: order.order_number
        )

    numbers = [int(d.number) for d in documents]
    seen: dict[str, dict[int, list[wire.Order]]] = {}
    for path in _ORDER_PATHS:
        seen[path] = await read(path, numbers)
    missing = [
        int(d.number)
        for d in documents
        if not any(seen[path].get(int(d.number)) for path in _ORDER_PATHS)
    ]
    if missing:
        again = await read("orders/drafts", missing)
        for number, rows in again.items():
            seen["orders/drafts"].setdefault(number, []).extend(rows)
    states: dict[DocumentRef, DocumentState] = {}
    for document in documents:
        number = int(document.number)
        where = [
            path
            for path in _ORDER_PATHS
            if any(o.references.other == document.reference for o in seen[path].get(number, []))
        ]
        if where:
            furthest = where[-1]  # archived over sent over drafts (one moved during the reads)
            states[document] = DocumentState(
                reference=document.reference,
                number=document.number,
                booked=furthest != "orders/drafts",
                events=(
                    frozenset({OrderEvent.INVOICED})
                    if furthest == "orders/archived"
                    else frozenset()
                ),
            )
        elif any(seen[path].get(number) for path in _ORDER_PATHS):
            log.warning(
                "economic: order %s now has another reference than %r; its status is left open",
                document.number,
                document.reference,
            )
        else:
            states[document] = DocumentState(
                reference=document.reference,
                number=document.number,
                booked=document.booked,
                events=frozenset({OrderEvent.CANCELLED}),
            )
    return states
