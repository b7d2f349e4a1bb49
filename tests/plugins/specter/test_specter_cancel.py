"""The Specter adapter cancels the document of an order cancelled in the shop
(DocumentCanceller, ``shop_changes = "cancel"``). Modelled (wire assumption 15): Specter's
cancel call is unknown (reference/erp-apis.md §3.4); what can be cancelled follows §3.2
(orders are delivered and invoiced in Specter; a booked invoice is in the books)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from brygga.adapters import DocumentCanceller
from brygga.errors import PermanentError
from brygga.models import DocumentType, OrderEvent
from brygga.testing.conformance.erp import kit_document
from brygga_specter.adapter import SpecterAdapter
from brygga_specter.simulator import SpecterSimulator

pytestmark = pytest.mark.anyio

AdapterFactory = Callable[..., Any]


def test_the_adapter_is_a_document_canceller() -> None:
    assert issubclass(SpecterAdapter, DocumentCanceller)


@pytest.mark.parametrize("kind", [DocumentType.INVOICE, DocumentType.ORDER])
async def test_a_new_document_is_cancelled_and_a_repeat_is_harmless(
    sim: SpecterSimulator, open_adapter: AdapterFactory, kind: DocumentType
) -> None:
    async with open_adapter() as adapter:
        ref = await adapter.create_document(await kit_document(sim, adapter, "K1", kind))
        other = await adapter.create_document(await kit_document(sim, adapter, "K2", kind))
        await adapter.cancel_document(ref)
        await adapter.cancel_document(ref)
        (state,) = await adapter.document_states([ref])
        (untouched,) = await adapter.document_states([other])
    assert OrderEvent.CANCELLED in state.events
    assert OrderEvent.CANCELLED not in untouched.events


async def test_a_booked_invoice_or_delivered_order_needs_a_person(
    sim: SpecterSimulator, open_adapter: AdapterFactory
) -> None:
    async with open_adapter() as adapter:
        booked = msgspec.structs.replace(await kit_document(sim, adapter, "K3"), book=True)
        ref = await adapter.create_document(booked)
        before = len(sim.requests)
        with pytest.raises(PermanentError, match="credit it in Specter"):
            await adapter.cancel_document(ref)
        assert len(sim.requests) == before  # refused without asking
        order = await adapter.create_document(
            await kit_document(sim, adapter, "K4", DocumentType.ORDER)
        )
        sim.order_event(order.reference, OrderEvent.DELIVERED)
        with pytest.raises(PermanentError, match=r"HTTP 400.*by hand"):
            await adapter.cancel_document(order)


async def test_a_document_specter_no_longer_has_counts_as_cancelled(
    sim: SpecterSimulator, open_adapter: AdapterFactory
) -> None:
    async with open_adapter() as adapter:
        ref = await adapter.create_document(await kit_document(sim, adapter, "K5"))
        sim.state.invoices.pop(ref.number)
        await adapter.cancel_document(ref)
