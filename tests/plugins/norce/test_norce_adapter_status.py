"""Order status and the ERP number back to Norce with SendOrderStatus (shop-apis.md §4.3;
[NO6] docs.norce.io/api-reference/connect/orderservice/nc-latest/operation/SendOrderStatus)."""

from __future__ import annotations

import pytest
from norce_support import open_adapter

from brygga.clock import FakeClock
from brygga.errors import PermanentError
from brygga.models import DocumentRef, DocumentType
from brygga_norce.simulator import NorceSimulator

pytestmark = pytest.mark.anyio

SEND = ("POST", "/commerce/connect/4.0/Order/SendOrderStatus")


def _doc(number: str) -> DocumentRef:
    return DocumentRef(document_type=DocumentType.ORDER, number=number, reference="r")


async def test_the_export_mark_acknowledges_a_new_order(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    """[NO4]: an acknowledgement sets the order to Confirmed and stores the ERP number."""
    ref = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with open_adapter(sim, clock) as adapter:
        await adapter.mark_exported(ref, _doc("ERP-77"))
        assert (sim.exported_document(ref), sim.order_status(ref)) == ("ERP-77", "Confirmed")
        await adapter.mark_exported(ref, _doc("ERP-77"))
        assert sim.requests.count(SEND) == 1  # read first: the repeat wrote nothing
        assert (await adapter.fetch_order(ref)).exported_as == "ERP-77"


async def test_the_export_mark_keeps_a_later_status(sim: NorceSimulator, clock: FakeClock) -> None:
    ref = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    sim.set_status(ref, "Delivered")
    async with open_adapter(sim, clock) as adapter:
        await adapter.mark_exported(ref, _doc("ERP-78"))
    assert (sim.exported_document(ref), sim.order_status(ref)) == ("ERP-78", "Delivered")


async def test_set_status_keeps_the_erp_number_and_refuses_a_capture(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    ref = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with open_adapter(sim, clock, account_id=4) as adapter:
        await adapter.mark_exported(ref, _doc("ERP-79"))
        assert await adapter.set_status(ref, "Delivered", email=True, capture=False) is True
        sent = sim.status_log(ref)[-1]
        assert sent == {
            "ClientOrderRef": int(ref),
            "OrderStatus": "Delivered",
            "ErpOrderNo": "ERP-79",
            "AccountId": 4,
        }
        with pytest.raises(PermanentError, match="capture = false"):
            await adapter.set_status(ref, "Invoiced", email=False, capture=True)
        with pytest.raises(PermanentError, match="cannot set this status"):
            await adapter.set_status(ref, "Created", email=False, capture=False)
    assert sim.order_status(ref) == "Delivered"


async def test_statuses_are_the_documented_query_statuses(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    """§4.3 [NO11]: statusId 0 Created … 8 Partly delivered."""
    async with open_adapter(sim, clock) as adapter:
        assert await adapter.order_statuses() == [
            "Created",
            "Allocation",
            "Confirmed",
            "Delivered",
            "Invoiced",
            "Cancelled",
            "PartlyDelivered",
        ]
