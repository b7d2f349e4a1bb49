"""Fortnox order status: what became of the invoices and orders brygga created (StatusSource).

From the spec (reference/erp-apis.md §2.6, §2.9 [spec F1], mapping [inferred] there):

- Invoice: ``Cancelled`` → ``cancelled``; ``Booked`` → ``invoiced``; booked with ``Balance``
  0 → ``paid`` too. An unbooked invoice has no event yet. Fortnox does not delete invoices,
  so one that cannot be read (404) or now carries another ``ExternalInvoiceReference1`` is
  left out (asked again later) with a warning, never taken as cancelled.
- Order: ``Cancelled`` → ``cancelled``; ``InvoiceReference`` a document number →
  ``invoiced``, and that invoice booked with ``Balance`` 0 → ``paid``. Fortnox answers ``"0"``
  for no invoice; "", "0" and whatever is not a positive number mean none. A linked invoice
  that cannot be read (404) leaves that order open, never the batch. Delivery
  (``DeliveryState``, warehouse module) is not read, so ``delivered`` is never reported.
- Reads ([chosen]): the first call reads each document (``GET /3/invoices/{n}``,
  ``/3/orders/{n}``). Later calls first ask ``GET /3/invoices?lastmodified=…``,
  ``/3/orders?lastmodified=…`` and ``/3/invoicepayments?lastmodified=…`` (documented with
  ``lastmodified``, reference §2.3; a payment is not promised to move its invoice's
  ``lastmodified``) since the previous call's start less 5 minutes (minute resolution), sent
  so that a Stockholm or a UTC reading of the undocumented time zone misses nothing
  (:mod:`brygga_fortnox.modified`), and read again only the documents those lists name (the
  invoices paid, and orders whose invoice changed); the others keep the state read before,
  except that a document not yet paid or cancelled is read again in full once its state is
  :data:`FULL_READ` old (6 hours), whatever the lists say. An integration without the payment
  scope (a 403 licence/scope refusal of the payments list) goes on without it (warned once).
  A failed read raises and nothing of the batch is reported.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import aclosing
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

from brygga.clock import Clock
from brygga.models import DocumentRef, DocumentState, DocumentType, OrderEvent
from brygga_fortnox import wire
from brygga_fortnox.api import ForbiddenError, FortnoxApi, NotFoundError
from brygga_fortnox.modified import lastmodified

__all__ = ["STATUS_EVENTS", "StatusReader", "linked_number"]

log = logging.getLogger(__name__)

STATUS_EVENTS = frozenset({OrderEvent.INVOICED, OrderEvent.PAID, OrderEvent.CANCELLED})
OVERLAP = timedelta(minutes=5)
#: how old the state of a document not yet paid or cancelled may grow before a full read
FULL_READ = timedelta(hours=6)
_FINAL = frozenset({OrderEvent.PAID, OrderEvent.CANCELLED})


def linked_number(value: str | None) -> str:
    """The document number a reference field (``InvoiceReference``, ``OrderReference``, …)
    holds, or "" when it refers to none: Fortnox answers ``"0"`` there (a real invoice reads
    ``"InvoiceReference": "0"``), and "" or anything else that is not a positive number is no
    document either."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()) or int(text) == 0:
        return ""
    return text


def _invoice_events(invoice: wire.Invoice) -> set[OrderEvent]:
    if invoice.cancelled:
        return {OrderEvent.CANCELLED}
    if not invoice.booked:
        return set()
    events = {OrderEvent.INVOICED}
    if invoice.balance is not None and invoice.balance == Decimal(0):
        events.add(OrderEvent.PAID)
    return events


class StatusReader:
    """Document states with a memory of the last ones read (per adapter, not durable)."""

    def __init__(self, api: FortnoxApi, clock: Clock) -> None:
        self.api = api
        self.clock = clock
        self._known: dict[tuple[DocumentType, str], DocumentState] = {}
        #: the invoice an order's state was read with (its paid state depends on it)
        self._order_invoice: dict[str, str] = {}
        self._since: datetime | None = None
        #: when each known state was read
        self._read_at: dict[tuple[DocumentType, str], datetime] = {}
        #: False once Fortnox refused the payments list (no payment scope)
        self._payments = True

    def _due(self, key: tuple[DocumentType, str], known: DocumentState, now: datetime) -> bool:
        """Whether a state not final yet is :data:`FULL_READ` old."""
        if known.events & _FINAL:
            return False
        read = self._read_at.get(key)
        return read is None or now - read >= FULL_READ

    async def document_states(self, documents: Sequence[DocumentRef]) -> list[DocumentState]:
        """The conclusive states of ``documents``, in their order."""
        started = self.clock.now()
        changed_invoices, changed_orders = await self._changed()
        states: list[DocumentState] = []
        for ref in documents:
            key = (ref.document_type, ref.number)
            known = self._known.get(key)
            if ref.document_type == DocumentType.INVOICE:
                stale = ref.number in changed_invoices
            else:
                stale = ref.number in changed_orders or (
                    self._order_invoice.get(ref.number, "") in changed_invoices
                )
            if (
                known is None
                or known.reference != ref.reference
                or stale
                or self._since is None
                or self._due(key, known, started)
            ):
                known = await self._read(ref)
                if known is None:
                    continue
                self._known[key] = known
                self._read_at[key] = started
            states.append(known)
        self._since = started - OVERLAP
        return states

    async def _changed(self) -> tuple[set[str], set[str]]:
        if self._since is None:
            return set(), set()
        stamp = lastmodified(self._since)
        found: tuple[set[str], set[str]] = (set(), set())
        for path, page_type, into in (
            ("invoices", wire.InvoicePage, found[0]),
            ("orders", wire.OrderPage, found[1]),
        ):
            items = self.api.pages(
                path, page_type, f"the {path} changed since {stamp}",
                params={"lastmodified": stamp}, limit=500,
            )  # fmt: skip
            async with aclosing(items):
                async for item in items:
                    into.add(item.document_number)
        found[0].update(await self._paid(stamp))
        return found

    async def _paid(self, stamp: str) -> set[str]:
        """The invoices with a payment registered or changed since ``stamp``."""
        if not self._payments:
            return set()
        paid: set[str] = set()
        items = self.api.pages(
            "invoicepayments", wire.InvoicePaymentPage, f"the invoice payments since {stamp}",
            params={"lastmodified": stamp}, limit=500,
        )  # fmt: skip
        try:
            async with aclosing(items):
                async for payment in items:
                    paid.add(str(payment.invoice_number).strip())
        except ForbiddenError as exc:
            self._payments = False
            log.warning(
                "fortnox: the invoice payments cannot be read (%s); paid invoices are seen when "
                "their lastmodified moves or at the %d-hourly full read",
                exc, FULL_READ // timedelta(hours=1),
            )  # fmt: skip
        return paid

    async def _read(self, ref: DocumentRef) -> DocumentState | None:
        number = ref.number.strip()
        if not number or not ref.reference:
            log.warning("fortnox: %s %r has no number or reference", ref.document_type, number)
            return None
        kind = "invoices" if ref.document_type == DocumentType.INVOICE else "orders"
        what = f"{ref.document_type.value} {number} ({ref.reference})"
        try:
            response = await self.api.request("GET", f"{kind}/{quote(number, safe='')}")
            if ref.document_type == DocumentType.INVOICE:
                invoice = self.api.decode(response, wire.InvoiceWrap, what).Invoice
                if invoice.external_invoice_reference1 != ref.reference:
                    return self._other(what)
                return DocumentState(
                    reference=ref.reference,
                    number=invoice.document_number,
                    booked=bool(invoice.booked),
                    events=frozenset(_invoice_events(invoice)),
                )
            order = self.api.decode(response, wire.OrderWrap, what).Order
        except NotFoundError:
            log.warning("fortnox: %s cannot be read (404); its status is left open", what)
            return None
        if order.external_invoice_reference1 != ref.reference:
            return self._other(what)
        events: set[OrderEvent] = set()
        if order.cancelled:
            events.add(OrderEvent.CANCELLED)
        linked = linked_number(order.invoice_reference)
        if linked and not order.cancelled:
            events.add(OrderEvent.INVOICED)
            self._order_invoice[number] = linked
            try:
                answer = await self.api.request("GET", f"invoices/{quote(linked, safe='')}")
                wrap = self.api.decode(answer, wire.InvoiceWrap, f"invoice {linked} of {what}")
            except NotFoundError:
                log.warning(
                    "fortnox: invoice %s of %s cannot be read (404); its status is left open",
                    linked, what,
                )  # fmt: skip
                return None
            events |= _invoice_events(wrap.Invoice) & {OrderEvent.PAID}
        return DocumentState(
            reference=ref.reference,
            number=order.document_number,
            booked=ref.booked,
            events=frozenset(events),
        )

    @staticmethod
    def _other(what: str) -> None:
        log.warning("fortnox: %s now has another reference; its status is left open", what)
        return None
