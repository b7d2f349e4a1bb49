"""The simulator takes row values only in the types Fortnox's spec gives them.

The Fortnox OpenAPI spec (reference/erp-apis.md §2.6 [spec F1], as fortpyx 0.0.1a1 generates
it): ``fortnox_Invoice_InvoiceRow`` has ``DeliveredQuantity: string``, ``Price: number``,
``Discount: number``, ``VAT: integer``; ``fortnox_Order_OrderRow`` has ``OrderedQuantity:
string`` and ``Price: number``; a real invoice answer reads ``"DeliveredQuantity": "10.00"``
and ``"Price": 159``. A value of another type is refused (2000750 here), so an adapter that
starts sending a quantity as a number or a price as a string fails in tests, as it could on
the real API.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from brygga_fortnox.simulator import FortnoxSimulator

pytestmark = pytest.mark.anyio


@pytest.fixture
async def raw(sim: FortnoxSimulator) -> AsyncIterator[httpx.AsyncClient]:
    config = sim.adapter_config("https://x")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="https://x"
    ) as client:
        basic = base64.b64encode(f"{config['client_id']}:{config['client_secret']}".encode())
        token = await client.post(
            "/oauth-v1/token",
            data={"grant_type": "refresh_token", "refresh_token": config["refresh_token"]},
            headers={"Authorization": f"Basic {basic.decode()}"},
        )
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield client


def _invoice(customer: str, row: dict[str, Any]) -> dict[str, Any]:
    base = {"ArticleNumber": "fraktavg", "DeliveredQuantity": "1", "Price": 10, "VAT": 25}
    return {"Invoice": {"CustomerNumber": customer, "InvoiceRows": [{**base, **row}]}}


@pytest.mark.parametrize(
    "row",
    [
        {"DeliveredQuantity": 1},
        {"DeliveredQuantity": 1.5},
        {"DeliveredQuantity": "ett"},
        {"Price": "10.00"},
        {"Discount": "5"},
        {"VAT": "25"},
    ],
)
async def test_a_row_value_of_another_type_is_refused(
    raw: httpx.AsyncClient, sim: FortnoxSimulator, row: dict[str, Any]
) -> None:
    customer = sim.add_customer(Name="Kund")
    answer = await raw.post("/3/invoices", json=_invoice(customer, row))
    assert answer.status_code == 400
    assert answer.json()["ErrorInformation"]["code"] == 2000750


async def test_the_documented_types_are_taken(
    raw: httpx.AsyncClient, sim: FortnoxSimulator
) -> None:
    customer = sim.add_customer(Name="Kund")
    invoice = await raw.post(
        "/3/invoices", json=_invoice(customer, {"DeliveredQuantity": "2.50", "Price": 10.5})
    )
    assert invoice.status_code == 201
    row = invoice.json()["Invoice"]["InvoiceRows"][0]
    assert row["DeliveredQuantity"] == "2.50" and row["Total"] == 26.25
    order = await raw.post(
        "/3/orders",
        json={
            "Order": {
                "CustomerNumber": customer,
                "OrderRows": [{"ArticleNumber": "fraktavg", "OrderedQuantity": 3, "Price": 1}],
            }
        },
    )
    assert order.status_code == 400
