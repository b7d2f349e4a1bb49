"""The Hogia adapter cancels the unbilled invoice of an order cancelled in the shop
(DocumentCanceller, ``shop_changes = "cancel"``). Modelled (wire assumption 9): the read model
third-party clients show has ``isCanceled`` and ``isBilled`` (reference/erp-apis.md §4.2 [H4]);
the cancel call itself is a guess."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from brygga.adapters import DocumentCanceller
from brygga.errors import PermanentError
from brygga.models import OrderEvent
from brygga.testing.conformance.erp import kit_document
from brygga_hogia.adapter import HogiaAdapter
from brygga_hogia.simulator import HogiaSimulator

pytestmark = pytest.mark.anyio

AdapterFactory = Callable[..., Any]


def test_the_adapter_is_a_document_canceller() -> None:
    assert issubclass(HogiaAdapter, DocumentCanceller)


async def test_an_unbilled_invoice_is_cancelled_and_a_repeat_is_harmless(
    sim: HogiaSimulator, open_adapter: AdapterFactory
) -> None:
    async with open_adapter() as adapter:
        ref = await adapter.create_document(await kit_document(sim, adapter, "K1"))
        other = await adapter.create_document(await kit_document(sim, adapter, "K2"))
        await adapter.cancel_document(ref)
        await adapter.cancel_document(ref)
        (state,) = await adapter.document_states([ref])
        (untouched,) = await adapter.document_states([other])
    assert OrderEvent.CANCELLED in state.events
    assert OrderEvent.CANCELLED not in untouched.events


async def test_a_billed_invoice_needs_a_credit_note(
    sim: HogiaSimulator, open_adapter: AdapterFactory
) -> None:
    async with open_adapter() as adapter:
        billed = msgspec.structs.replace(await kit_document(sim, adapter, "K3"), book=True)
        ref = await adapter.create_document(billed)
        with pytest.raises(PermanentError, match="credit it in Hogia Smart"):
            await adapter.cancel_document(ref)
        later = await adapter.create_document(await kit_document(sim, adapter, "K4"))
        sim.order_event(later.reference, OrderEvent.INVOICED)  # billed since we saw it
        with pytest.raises(PermanentError, match=r"HTTP 400.*isBilled.*by hand"):
            await adapter.cancel_document(later)
        sim.state.invoices.pop(later.number)
        await adapter.cancel_document(later)  # gone: counts as cancelled
