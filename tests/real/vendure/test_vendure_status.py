"""Order states written back to a real Vendure: once, read first, never repeated.

Vendure's default order process (read from ``globalSettings.serverConfig.orderProcess``;
docs.vendure.io "Order Workflow"): PaymentAuthorized -> PaymentSettled -> Shipped ->
Delivered, Cancelled from any of them; an order ships only once its payment is settled.
Fulfilments (``addFulfillmentToOrder`` + ``transitionFulfillmentToState``) move the order to
Shipped/Delivered.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from vendure_server import VendureServer, admin_gql, admin_login, place_checkout

from brygga.errors import PermanentError

pytestmark = [pytest.mark.real, pytest.mark.anyio]


async def _server_order(server: VendureServer, order_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as admin:
        await admin_login(server, admin)
        data = await admin_gql(
            server,
            admin,
            "query($id: ID!) { order(id: $id) { state updatedAt payments { state }"
            " fulfillments { state method trackingCode } } }",
            {"id": order_id},
        )
    order: dict[str, Any] = data["order"]
    return order


async def test_statuses_are_read_from_the_order_process(adapter: Any) -> None:
    statuses = await adapter.order_statuses()
    assert {"PaymentSettled", "Shipped", "Delivered", "Cancelled"} <= set(statuses)
    assert not {"AddingItems", "ArrangingPayment", "PaymentAuthorized"} & set(statuses)


async def test_ship_with_capture_then_deliver_each_written_once(
    vendure: VendureServer, adapter: Any
) -> None:
    placed = await place_checkout(vendure, [("WIDGET-1", 1), ("COFFEE-500", 2)])
    before = await adapter.fetch_order(placed.id)
    wrote = await adapter.set_status(
        placed.id,
        "Shipped",
        email=False,
        capture=True,
        tracking_number="PN123SE",
        carrier="PostNord",
    )
    assert wrote is True
    server = await _server_order(vendure, placed.id)
    assert server["state"] == "Shipped"
    assert [p["state"] for p in server["payments"]] == ["Settled"]
    assert server["fulfillments"] == [
        {"state": "Shipped", "method": "PostNord", "trackingCode": "PN123SE"}
    ]
    # the status change is a change of the order: the feed sees it again
    after = await adapter.fetch_order(placed.id)
    assert after.status == "Shipped" and after.paid
    assert after.modified_at >= before.modified_at

    writes = adapter.writes
    again = await adapter.set_status(
        placed.id,
        "Shipped",
        email=False,
        capture=True,
        tracking_number="PN123SE",
        carrier="PostNord",
    )
    assert again is False and adapter.writes == writes

    assert await adapter.set_status(placed.id, "Delivered", email=False, capture=True) is True
    server = await _server_order(vendure, placed.id)
    assert server["state"] == "Delivered"
    assert [f["state"] for f in server["fulfillments"]] == ["Delivered"]
    writes = adapter.writes
    assert await adapter.set_status(placed.id, "Delivered", email=False, capture=True) is False
    assert adapter.writes == writes


async def test_shipping_an_unsettled_order_without_capture_is_refused(
    vendure: VendureServer, adapter: Any
) -> None:
    placed = await place_checkout(vendure, [("WIDGET-1", 1)])
    writes = adapter.writes
    with pytest.raises(PermanentError, match="capture = true"):
        await adapter.set_status(placed.id, "Shipped", email=False, capture=False)
    assert adapter.writes == writes
    assert (await _server_order(vendure, placed.id))["state"] == "PaymentAuthorized"


async def test_capture_alone_settles_and_cancel_cancels(
    vendure: VendureServer, adapter: Any
) -> None:
    placed = await place_checkout(vendure, [("GADGET-S", 1)])
    assert await adapter.set_status(placed.id, "PaymentSettled", email=False, capture=True)
    assert (await _server_order(vendure, placed.id))["state"] == "PaymentSettled"
    assert not await adapter.set_status(placed.id, "PaymentSettled", email=False, capture=True)

    other = await place_checkout(vendure, [("GADGET-S", 1)])
    assert await adapter.set_status(other.id, "Cancelled", email=False, capture=False)
    assert (await _server_order(vendure, other.id))["state"] == "Cancelled"
    writes = adapter.writes
    assert not await adapter.set_status(other.id, "Cancelled", email=False, capture=False)
    assert adapter.writes == writes


async def test_unknown_status_is_refused(vendure: VendureServer, adapter: Any) -> None:
    placed = await place_checkout(vendure, [("WIDGET-1", 1)])
    with pytest.raises(PermanentError, match="no order state 'Packed'"):
        await adapter.set_status(placed.id, "Packed", email=False, capture=False)


async def test_a_fulfilment_left_by_a_lost_answer_is_reused(
    vendure: VendureServer, adapter: Any
) -> None:
    """A write whose answer was lost must not be repeated blindly: the fulfilment that
    landed is found by the read that precedes every status write and moved on, not
    created a second time."""
    placed = await place_checkout(vendure, [("WIDGET-1", 1)])
    assert await adapter.set_status(placed.id, "PaymentSettled", email=False, capture=True)
    async with httpx.AsyncClient() as admin:
        await admin_login(vendure, admin)
        order = await admin_gql(
            vendure,
            admin,
            "query($id: ID!) { order(id: $id) { lines { id quantity } } }",
            {"id": placed.id},
        )
        lines = [
            {"orderLineId": line["id"], "quantity": line["quantity"]}
            for line in order["order"]["lines"]
        ]
        landed = await admin_gql(
            vendure,
            admin,
            "mutation($i: FulfillOrderInput!) { addFulfillmentToOrder(input: $i) {"
            " __typename ... on Fulfillment { id state } } }",
            {
                "i": {
                    "lines": lines,
                    "handler": {
                        "code": "manual-fulfillment",
                        "arguments": [
                            {"name": "method", "value": "DHL"},
                            {"name": "trackingCode", "value": "X1"},
                        ],
                    },
                }
            },
        )
    assert landed["addFulfillmentToOrder"]["state"] == "Pending"
    assert await adapter.set_status(placed.id, "Shipped", email=False, capture=True)
    server = await _server_order(vendure, placed.id)
    assert server["state"] == "Shipped"
    assert server["fulfillments"] == [{"state": "Shipped", "method": "DHL", "trackingCode": "X1"}]
