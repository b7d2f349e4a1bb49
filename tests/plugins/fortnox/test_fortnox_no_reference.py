"""A reference field that refers to no document reads "0" in Fortnox's answers.

A real invoice answer carries ``"InvoiceReference": "0"``, ``"OrderReference": "0"``,
``"OfferReference": "0"`` and ``"CreditInvoiceReference": "0"`` (the Fortnox invoice kept as a
fixture by the PHP client FAPI\\Fortnox, tests/Model/Invoice/InvoiceTest.php); the spec types
``InvoiceReference`` as a string (``fortnox_Order``, reference/erp-apis.md §2.6). So an order
without an invoice is one whose ``InvoiceReference`` is "", "0" or anything that is not a
positive document number, and a linked invoice that cannot be read leaves only that order
open: the rest of the batch is still reported.
"""

from __future__ import annotations

from typing import Any

import pytest

from brygga.models import DocumentRef, DocumentType, OrderEvent
from brygga.testing.conformance.erp import kit_document
from brygga_fortnox.simulator import FortnoxSimulator

pytestmark = pytest.mark.anyio


async def _made(sim: FortnoxSimulator, adapter: Any, order: str, kind: DocumentType) -> DocumentRef:
    ref: DocumentRef = await adapter.create_document(await kit_document(sim, adapter, order, kind))
    return ref


async def test_the_simulator_answers_0_for_no_reference(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    """As the real invoice answer does: ``"InvoiceReference": "0"``, ``"OrderReference": "0"``."""
    async with open_adapter() as adapter:
        order = await _made(sim, adapter, "Z1", DocumentType.ORDER)
        invoice = await _made(sim, adapter, "Z2", DocumentType.INVOICE)
    stored_order = sim.order(order.number)
    stored_invoice = sim.invoice(invoice.number)
    assert stored_order is not None and stored_invoice is not None
    assert stored_order["InvoiceReference"] == "0"
    assert stored_invoice["OrderReference"] == "0"
    assert stored_invoice["CreditInvoiceReference"] == "0"


async def test_an_order_without_invoice_does_not_fail_the_batch(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    """``"InvoiceReference": "0"`` is no invoice: the order is open, the batch is reported
    (the old adapter read ``GET invoices/0``, got a 404 and lost the whole batch)."""
    async with open_adapter() as adapter:
        plain = await _made(sim, adapter, "Z3", DocumentType.ORDER)
        invoiced = await _made(sim, adapter, "Z4", DocumentType.ORDER)
        sim.order_event(invoiced.reference, OrderEvent.INVOICED)
        states = await adapter.document_states([plain, invoiced])
    assert [s.events for s in states] == [frozenset(), {OrderEvent.INVOICED}]


@pytest.mark.parametrize("value", ["", "0", " 0 ", "-3", "abc", "00"])
async def test_what_is_not_a_document_number_means_no_invoice(
    sim: FortnoxSimulator, open_adapter: Any, value: str
) -> None:
    async with open_adapter() as adapter:
        ref = await _made(sim, adapter, "Z5", DocumentType.ORDER)
        stored = sim.order(ref.number)
        assert stored is not None
        stored["InvoiceReference"] = value
        start = len(sim.requests)
        states = await adapter.document_states([ref])
    assert [s.events for s in states] == [frozenset()]
    assert not any(path.startswith("/3/invoices/") for _, path in sim.requests[start:])


async def test_a_linked_invoice_that_cannot_be_read_leaves_only_its_order_open(
    sim: FortnoxSimulator, open_adapter: Any
) -> None:
    """A 404 for the linked invoice (responses page: "404 | Not Found | The requested
    resource could not be found", https://www.fortnox.se/developer/guides-and-good-to-know/responses)
    leaves that order out; the others are reported."""
    async with open_adapter() as adapter:
        lost = await _made(sim, adapter, "Z6", DocumentType.ORDER)
        paid = await _made(sim, adapter, "Z7", DocumentType.ORDER)
        sim.order_event(lost.reference, OrderEvent.INVOICED)
        sim.order_event(paid.reference, OrderEvent.PAID)
        stored = sim.order(lost.number)
        assert stored is not None
        sim.state.table("invoices").pop(stored["InvoiceReference"])
        states = await adapter.document_states([lost, paid])
    assert [(s.reference, s.events) for s in states] == [
        (paid.reference, {OrderEvent.INVOICED, OrderEvent.PAID})
    ]
