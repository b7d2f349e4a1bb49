"""Order status from Fortnox (StatusSource): invoiced, paid, cancelled; lastmodified reads.

Reference/erp-apis.md §2.6 (``Booked``, ``Balance`` 0 ⇒ fully paid, ``Cancelled``,
``InvoiceReference`` on an invoiced order [spec F1]), §2.9 (the status mapping), §2.3 and
§2.7 (``lastmodified`` polling with minute resolution, [doc F4]
https://www.fortnox.se/developer/guides-and-good-to-know/parameters).
"""

from __future__ import annotations

from typing import Any

import pytest

from brygga.clock import FakeClock
from brygga.models import DocumentRef, DocumentType, OrderEvent
from brygga.testing.conformance.erp import kit_document
from brygga_fortnox.simulator import FortnoxSimulator

pytestmark = pytest.mark.anyio


async def _made(sim: FortnoxSimulator, adapter: Any, order: str, kind: DocumentType) -> DocumentRef:
    ref: DocumentRef = await adapter.create_document(await kit_document(sim, adapter, order, kind))
    return ref


def _reads(sim: FortnoxSimulator, start: int) -> list[str]:
    return [path for method, path in sim.requests[start:] if method == "GET"]


async def test_invoice_events_follow_booking_payment_and_cancelling(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        booked = await _made(sim, adapter, "S1", DocumentType.INVOICE)
        paid = await _made(sim, adapter, "S2", DocumentType.INVOICE)
        gone = await _made(sim, adapter, "S3", DocumentType.INVOICE)
        untouched = await _made(sim, adapter, "S4", DocumentType.INVOICE)
        sim.order_event(booked.reference, OrderEvent.INVOICED)
        sim.order_event(paid.reference, OrderEvent.PAID)
        sim.order_event(gone.reference, OrderEvent.CANCELLED)
        states = await adapter.document_states([booked, paid, gone, untouched])
    events = {s.reference: s.events for s in states}
    assert events == {
        booked.reference: {OrderEvent.INVOICED},
        paid.reference: {OrderEvent.INVOICED, OrderEvent.PAID},
        gone.reference: {OrderEvent.CANCELLED},
        untouched.reference: frozenset(),
    }
    assert {s.reference: s.booked for s in states}[booked.reference] is True


async def test_an_order_is_invoiced_when_it_has_an_invoice_and_paid_with_it(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        invoiced = await _made(sim, adapter, "O1", DocumentType.ORDER)
        paid = await _made(sim, adapter, "O2", DocumentType.ORDER)
        sim.order_event(invoiced.reference, OrderEvent.INVOICED)
        sim.order_event(paid.reference, OrderEvent.PAID)
        states = await adapter.document_states([invoiced, paid])
    assert [s.events for s in states] == [
        {OrderEvent.INVOICED},
        {OrderEvent.INVOICED, OrderEvent.PAID},
    ]


async def test_later_calls_read_only_what_lastmodified_names(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        refs = [await _made(sim, adapter, f"L{i}", DocumentType.INVOICE) for i in range(3)]
        await adapter.document_states(refs)
        # lastmodified is sent 2 hours early (its time zone is undocumented): polls 2 h 10 min
        # apart; created within the first call's window: read once more
        clock.advance(7800)
        await adapter.document_states(refs)
        clock.advance(7800)
        start = len(sim.requests)
        again = await adapter.document_states(refs)
        lists = ["/3/invoices", "/3/orders", "/3/invoicepayments"]
        assert _reads(sim, start) == lists
        assert [s.events for s in again] == [frozenset()] * 3
        clock.advance(7800)
        sim.order_event(refs[1].reference, OrderEvent.INVOICED)
        start = len(sim.requests)
        moved = await adapter.document_states(refs)
        assert _reads(sim, start) == [*lists, f"/3/invoices/{refs[1].number}"]
    assert [s.events for s in moved] == [frozenset(), {OrderEvent.INVOICED}, frozenset()]


async def test_a_document_with_another_reference_now_is_left_out(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        ref = await _made(sim, adapter, "R1", DocumentType.INVOICE)
        stored = sim.invoice(ref.number)
        assert stored is not None
        stored["ExternalInvoiceReference1"] = "edited by a person"
        assert await adapter.document_states([ref]) == []
        unknown = DocumentRef(document_type=DocumentType.INVOICE, number="999", reference="x")
        assert await adapter.document_states([unknown]) == []
