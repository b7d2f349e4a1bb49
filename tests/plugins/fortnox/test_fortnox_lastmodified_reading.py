"""Polls by ``lastmodified`` miss nothing, whatever zone Fortnox reads it in and whether a
payment moves its invoice's ``lastmodified``.

https://www.fortnox.se/developer/guides-and-good-to-know/parameters shows the value only as
"lastmodified=2019-03-10 12:30" (no zone; reference/erp-apis.md §2.2: "Time zone of
``lastmodified``: **[unknown]**"), so the simulator here reads it as Stockholm or as UTC
wall time. §2.3 lists "``GET /3/invoicepayments``: ``invoicenumber``, ``lastmodified``"
[spec F1]; nothing documents that registering a payment moves the invoice's own
``lastmodified``, so the simulator here does not move it.
"""

from __future__ import annotations

from datetime import UTC, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from brygga.clock import FakeClock
from brygga.models import DocumentRef, DocumentType, OrderEvent
from brygga.testing.conformance.erp import kit_document
from brygga_fortnox.simulator import FortnoxSimulator

pytestmark = pytest.mark.anyio

ZONES = [ZoneInfo("Europe/Stockholm"), UTC]


@pytest.fixture
def sim(clock: FakeClock, request: pytest.FixtureRequest) -> FortnoxSimulator:
    """The simulator, reading ``lastmodified`` in the zone a test parametrises (Stockholm)."""
    zone: tzinfo | None = getattr(request, "param", None)
    return FortnoxSimulator(clock=clock, lastmodified_zone=zone)


async def _made(sim: FortnoxSimulator, adapter: Any, order: str, kind: DocumentType) -> DocumentRef:
    ref: DocumentRef = await adapter.create_document(await kit_document(sim, adapter, order, kind))
    return ref


@pytest.mark.parametrize("sim", ZONES, ids=["stockholm", "utc"], indirect=True)
async def test_a_booking_is_seen_on_the_next_poll_in_either_zone(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    """The old adapter sent Stockholm wall time: read as UTC, its window started an hour (two
    in summer) late and the booking was never listed."""
    async with open_adapter() as adapter:
        ref = await _made(sim, adapter, "TZ1", DocumentType.INVOICE)
        assert [s.events for s in await adapter.document_states([ref])] == [frozenset()]
        for _ in range(2):  # polls 10 minutes apart, the first of them re-reads the document
            clock.advance(600)
            await adapter.document_states([ref])
        clock.advance(120)
        sim.order_event(ref.reference, OrderEvent.INVOICED)
        clock.advance(480)
        states = await adapter.document_states([ref])
    assert [s.events for s in states] == [{OrderEvent.INVOICED}]


@pytest.mark.parametrize("sim", ZONES, ids=["stockholm", "utc"], indirect=True)
async def test_the_article_feed_lists_a_change_in_either_zone(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    clock.advance(3 * 3600)
    since = clock.now()
    clock.advance(60)
    sim.set_article("TE-100", SalesPrice=Decimal("47.50"))
    async with open_adapter() as adapter:
        changes = [c async for c in adapter.changed_articles(since, clock.now())]
    assert [c.sku for c in changes] == ["TE-100"]


async def test_a_payment_that_does_not_move_the_invoice_is_seen_by_the_payments_list(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    """The old adapter read only ``/3/invoices?lastmodified``: the payment was never seen."""
    assert sim.state.payment_touches_invoice is False
    async with open_adapter() as adapter:
        invoice = await _made(sim, adapter, "P1", DocumentType.INVOICE)
        order = await _made(sim, adapter, "P2", DocumentType.ORDER)
        sim.order_event(invoice.reference, OrderEvent.INVOICED)
        sim.order_event(order.reference, OrderEvent.INVOICED)
        first = await adapter.document_states([invoice, order])
        assert [s.events for s in first] == [{OrderEvent.INVOICED}] * 2
        clock.advance(3 * 3600)  # past the early start of lastmodified: nothing listed
        await adapter.document_states([invoice, order])
        clock.advance(600)
        sim.order_event(invoice.reference, OrderEvent.PAID)
        sim.order_event(order.reference, OrderEvent.PAID)
        clock.advance(600)
        states = await adapter.document_states([invoice, order])
    paid = {OrderEvent.INVOICED, OrderEvent.PAID}
    assert [s.events for s in states] == [paid, paid]


async def test_without_the_payment_scope_a_full_read_every_6_hours_finds_the_payment(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    """A 403 licence/scope refusal of the payments list (errors page: "2001101 | Det finns
    ingen aktiv licens för önskat scope") leaves the batch reported; documents not yet paid
    or cancelled are read in full once their state is 6 hours old."""
    sim.gate.forbidden["/3/invoicepayments"] = 2001101
    async with open_adapter() as adapter:
        ref = await _made(sim, adapter, "P3", DocumentType.INVOICE)
        sim.order_event(ref.reference, OrderEvent.INVOICED)
        await adapter.document_states([ref])
        clock.advance(3 * 3600)
        await adapter.document_states([ref])  # the booking is still in the window: read
        sim.order_event(ref.reference, OrderEvent.PAID)
        clock.advance(60)
        early = await adapter.document_states([ref])
        assert [s.events for s in early] == [{OrderEvent.INVOICED}]
        clock.advance(5 * 3600)
        assert [s.events for s in await adapter.document_states([ref])] == [{OrderEvent.INVOICED}]
        clock.advance(3600)  # 6 hours after the last read
        late = await adapter.document_states([ref])
    assert [s.events for s in late] == [{OrderEvent.INVOICED, OrderEvent.PAID}]


async def test_a_final_state_is_not_read_again(
    sim: FortnoxSimulator, clock: FakeClock, open_adapter: Any
) -> None:
    async with open_adapter() as adapter:
        ref = await _made(sim, adapter, "P4", DocumentType.INVOICE)
        sim.order_event(ref.reference, OrderEvent.PAID)
        await adapter.document_states([ref])
        clock.advance(3 * 3600)
        await adapter.document_states([ref])  # still in the lastmodified window: read
        clock.advance(7 * 3600)
        start = len(sim.requests)
        states = await adapter.document_states([ref])
    assert [s.events for s in states] == [{OrderEvent.INVOICED, OrderEvent.PAID}]
    assert f"/3/invoices/{ref.number}" not in [p for _, p in sim.requests[start:]]


def test_payments_are_listed_with_the_documented_item_shape(
    sim: FortnoxSimulator,
) -> None:
    """``fortnox_InvoicePaymentListItem``: ``InvoiceNumber`` an integer, ``Number`` a string."""
    from brygga_fortnox.simulator import documents

    customer = sim.add_customer(Name="Kund")
    created = documents.create_document(
        sim.state,
        "invoices",
        {
            "CustomerNumber": customer,
            "InvoiceRows": [{"ArticleNumber": "fraktavg", "DeliveredQuantity": "1", "Price": 10}],
        },
        sim.vat_rates,
    )
    documents.book(sim.state, created["DocumentNumber"])
    payment = documents.pay(sim.state, created["DocumentNumber"], Decimal("12.50"))
    item = documents.payment_list_item(payment)
    assert isinstance(item["InvoiceNumber"], int) and isinstance(item["Number"], str)
    assert item["Amount"] == Decimal("12.50")
