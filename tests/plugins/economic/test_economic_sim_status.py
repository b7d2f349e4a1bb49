"""The e-conomic simulator's order-status surface: order_event, archived orders, payment views.

Each rule follows e-conomic/slate ``source/includes/_invoices.md`` (booking, DELETE of
drafts with its status message, /invoices/paid and /invoices/unpaid, ``remainder``) and
``_orders.md`` (drafts, sent, archived; DELETE answers 204).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest
from economic_support import draft_body

from brygga.models import OrderEvent
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

Api = Callable[..., httpx.AsyncClient]


async def _draft(client: httpx.AsyncClient, path: str, reference: str) -> int:
    response = await client.post(path, json=draft_body(references={"other": reference}))
    assert response.status_code == 201, response.text
    key = "draftInvoiceNumber" if path == "/invoices/drafts" else "orderNumber"
    return int(response.json()[key])


async def test_invoiced_books_and_paid_zeroes_the_remainder(
    api: Api, sim: EconomicSimulator, customer_one: int
) -> None:
    async with api() as client:
        await _draft(client, "/invoices/drafts", "r-1")
        await _draft(client, "/invoices/drafts", "r-2")
        sim.order_event("r-1", OrderEvent.INVOICED)
        sim.order_event("r-2", OrderEvent.PAID)
        booked = (await client.get("/invoices/booked")).json()["collection"]
        paid = (await client.get("/invoices/paid")).json()["collection"]
        unpaid = (await client.get("/invoices/unpaid")).json()["collection"]
        drafts = (await client.get("/invoices/drafts")).json()["collection"]
    assert drafts == []
    remainders = {b["references"]["other"]: Decimal(str(b["remainder"])) for b in booked}
    assert remainders["r-2"] == 0 and remainders["r-1"] > 0
    assert [i["references"]["other"] for i in paid] == ["r-2"]
    assert [i["references"]["other"] for i in unpaid] == ["r-1"]


async def test_the_number_filters_take_in_and_references_take_or_chains(
    api: Api, sim: EconomicSimulator, customer_one: int
) -> None:
    """``$in:`` on numeric properties and ``$or:`` chains (_introduction.md, Filtering)."""
    async with api() as client:
        numbers = [await _draft(client, "/invoices/drafts", f"r-{n}") for n in range(4)]
        by_number = await client.get(
            "/invoices/drafts", params={"filter": f"draftInvoiceNumber$in:[{numbers[0]},99]"}
        )
        by_reference = await client.get(
            "/invoices/drafts",
            params={"filter": "references.other$eq:R-1$or:references.other$eq:r-3"},
        )
    assert [d["draftInvoiceNumber"] for d in by_number.json()["collection"]] == [numbers[0]]
    assert [d["references"]["other"] for d in by_reference.json()["collection"]] == [
        "r-1",
        "r-3",
    ]


async def test_cancelled_deletes_a_draft_and_refuses_a_booked_invoice(
    api: Api, sim: EconomicSimulator, customer_one: int
) -> None:
    async with api() as client:
        await _draft(client, "/invoices/drafts", "r-1")
        await _draft(client, "/invoices/drafts", "r-2")
    sim.order_event("r-1", OrderEvent.CANCELLED)
    sim.order_event("r-2", OrderEvent.INVOICED)
    with pytest.raises(ValueError, match="cannot be deleted"):
        sim.order_event("r-2", OrderEvent.CANCELLED)
    assert [(d.reference, d.booked) for d in sim.documents()] == [("r-2", True)]


async def test_delete_of_a_draft_invoice_answers_the_documented_message(
    api: Api, customer_one: int
) -> None:
    async with api() as client:
        number = await _draft(client, "/invoices/drafts", "r-1")
        deleted = await client.delete(f"/invoices/drafts/{number}")
    assert deleted.status_code == 200
    body = deleted.json()
    assert body["deletedCount"] == 1
    assert body["deletedItems"][0]["draftInvoiceNumber"] == number


@pytest.mark.parametrize("event", [OrderEvent.DELIVERED, OrderEvent.PARTIALLY_DELIVERED])
async def test_there_is_no_delivered_state(
    api: Api, sim: EconomicSimulator, customer_one: int, event: OrderEvent
) -> None:
    async with api() as client:
        await _draft(client, "/invoices/drafts", "r-1")
    with pytest.raises(ValueError, match="e-conomic has no delivered state"):
        sim.order_event("r-1", event)


def test_an_unknown_reference_is_refused(sim: EconomicSimulator) -> None:
    with pytest.raises(ValueError, match="no invoice or order"):
        sim.order_event("nobody", OrderEvent.INVOICED)


async def test_an_invoiced_order_is_archived_with_a_new_draft_invoice(
    api: Api, sim: EconomicSimulator, customer_one: int
) -> None:
    """An archived order was registered as sent and then upgraded to an invoice draft."""
    async with api() as client:
        number = await _draft(client, "/orders/drafts", "r-1")
        with pytest.raises(ValueError, match="invoice the order first"):
            sim.order_event("r-1", OrderEvent.PAID)
        sim.order_event("r-1", OrderEvent.INVOICED)
        archived = await client.get(
            "/orders/archived", params={"filter": f"orderNumber$in:[{number}]"}
        )
        one = await client.get(f"/orders/archived/{number}")
        drafts = (await client.get("/orders/drafts")).json()["collection"]
        invoices = (await client.get("/invoices/drafts")).json()["collection"]
    assert [o["orderNumber"] for o in archived.json()["collection"]] == [number]
    assert one.json()["self"].endswith(f"/orders/archived/{number}")
    assert drafts == []
    assert [i["references"]["other"] for i in invoices] == ["r-1"]
    with pytest.raises(ValueError, match="cannot be deleted"):
        sim.order_event("r-1", OrderEvent.CANCELLED)
    sim.order_event("r-1", OrderEvent.PAID)  # its invoice: booked and paid
    assert sorted(d.booked for d in sim.documents_with_reference("r-1")) == [True, True]


async def test_a_sent_order_can_be_deleted_with_204(api: Api, customer_one: int) -> None:
    async with api() as client:
        number = await _draft(client, "/orders/drafts", "r-1")
        order = (await client.get(f"/orders/drafts/{number}")).json()
        assert (await client.post("/orders/sent", json=order)).status_code == 201
        deleted = await client.delete(f"/orders/sent/{number}")
        gone = await client.get(f"/orders/sent/{number}")
    assert deleted.status_code == 204
    assert gone.status_code == 404
