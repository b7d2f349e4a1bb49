"""The e-conomic adapter cancels the document of an order cancelled in the shop
(DocumentCanceller, ``shop_changes = "cancel"``).

From e-conomic/slate ``source/includes/_orders.md``: "DELETE /orders/drafts/:orderNumber —
Deletes a draft order … 204 … not idempotent, … on the consecutive calls it will be returning
status code 404", the same for ``DELETE /orders/sent/:orderNumber``; ``_invoices.md``: DELETE on
``/invoices/drafts/:draftInvoiceNumber``; a booked invoice has no DELETE (it is in the books and
takes a credit note).
"""

from __future__ import annotations

from typing import Any

import pytest
from economic_support import document

from brygga.adapters import DocumentCanceller
from brygga.errors import PermanentError
from brygga.models import DocumentType, OrderEvent
from brygga_economic.adapter import EconomicAdapter
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio


def test_the_adapter_is_a_document_canceller() -> None:
    assert issubclass(EconomicAdapter, DocumentCanceller)


@pytest.mark.parametrize("kind", [DocumentType.INVOICE, DocumentType.ORDER])
async def test_a_draft_is_deleted_and_a_repeat_is_harmless(
    sim: EconomicSimulator, open_adapter: Any, customer_one: int, kind: DocumentType
) -> None:
    async with open_adapter() as adapter:
        created = await adapter.create_document(
            document(str(customer_one), reference="shop/se/7", document_type=kind)
        )
        other = await adapter.create_document(
            document(str(customer_one), reference="shop/se/8", document_type=kind)
        )
        assert await adapter.find_document("shop/se/7", kind) == created
        await adapter.cancel_document(created)
        assert sim.documents_with_reference("shop/se/7") == []
        # an unknown outcome is retried: the second DELETE meets 404, which is "gone already"
        await adapter.cancel_document(created)
        assert await adapter.find_document("shop/se/7", kind) is None
        assert await adapter.find_document("shop/se/8", kind) == other


async def test_a_sent_order_is_deleted_from_sent(
    sim: EconomicSimulator, open_adapter: Any, customer_one: int
) -> None:
    async with open_adapter() as adapter:
        await adapter.create_document(
            document(
                str(customer_one),
                reference="shop/se/9",
                document_type=DocumentType.ORDER,
                book=True,
            )
        )
        sent = await adapter.find_document("shop/se/9", DocumentType.ORDER)
        assert sent is not None and sent.booked
        await adapter.cancel_document(sent)
    assert sim.documents_with_reference("shop/se/9") == []


async def test_a_booked_invoice_needs_a_credit_note(
    sim: EconomicSimulator, open_adapter: Any, customer_one: int
) -> None:
    async with open_adapter() as adapter:
        await adapter.create_document(document(str(customer_one), reference="shop/se/5"))
        sim.order_event("shop/se/5", OrderEvent.INVOICED)
        booked = await adapter.find_document("shop/se/5", DocumentType.INVOICE)
        assert booked is not None and booked.booked
        with pytest.raises(PermanentError, match=r"is booked.*credit note") as caught:
            await adapter.cancel_document(booked)
    assert booked.number in str(caught.value) and "shop/se/5" in str(caught.value)
    assert len(sim.documents_with_reference("shop/se/5")) == 1
