"""The Tryton simulator speaks as trytond 8.2 did on the real server (reference
real-peers.md §A "JSON-RPC protocol (as verified)" and gotchas 1 and 3; erp-apis.md §5.1):
routes, content type, login, session header, error arrays, typed values."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from brygga.models import OrderEvent
from brygga_tryton.simulator import TrytonSimulator

pytestmark = pytest.mark.anyio

JSON = {"Content-Type": "application/json"}


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def client(sim: TrytonSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://t")


def body(method: str, *params: Any) -> str:
    return json.dumps({"id": 1, "method": method, "params": list(params)})


async def session(http: httpx.AsyncClient, sim: TrytonSimulator) -> dict[str, str]:
    answer = await http.post(
        "/brygga/rpc/",
        content=body("common.db.login", sim.login, {"password": sim.password}, "en"),
        headers=JSON,
    )
    user, token, _bus = answer.json()["result"]
    auth = base64.b64encode(f"{sim.login}:{user}:{token}".encode()).decode()
    return {**JSON, "Authorization": f"Session {auth}"}


async def test_routes_content_type_and_login_as_on_the_real_server() -> None:
    sim = TrytonSimulator()
    async with client(sim) as http:
        version = await http.post("/rpc/", content=body("common.server.version"), headers=JSON)
        assert version.json() == {"id": 1, "result": "8.2"}
        # §A gotcha 1: /<db>/ without rpc/ is not the endpoint; gotcha 3: JSON content type
        assert (await http.post("/brygga/", content=body("x"), headers=JSON)).status_code == 404
        assert (await http.get("/brygga/rpc/")).status_code == 405
        assert (await http.post("/brygga/rpc/", content=body("x"))).status_code == 400
        wrong = body("common.db.login", sim.login, {"password": "nope"}, "en")
        assert (await http.post("/brygga/rpc/", content=wrong, headers=JSON)).status_code == 401
        other_db = body("common.db.login", sim.login, {"password": sim.password}, "en")
        assert (await http.post("/other/rpc/", content=other_db, headers=JSON)).status_code == 404
        call = body("model.sale.sale.search", [], {})
        assert (await http.post("/brygga/rpc/", content=call, headers=JSON)).status_code == 401
        headers = await session(http, sim)
        assert (await http.post("/brygga/rpc/", content=call, headers=headers)).json() == {
            "id": 1,
            "result": [],
        }
        # §5.2: the context is the last parameter, else an error array (not a result)
        no_context = body("model.sale.sale.search", [])
        answer = (await http.post("/brygga/rpc/", content=no_context, headers=headers)).json()
        assert "error" in answer and "context" in answer["error"][0]
        hidden = body("model.sale.sale.delete_everything", [1], {})
        assert (await http.post("/brygga/rpc/", content=hidden, headers=headers)).status_code == 403


async def test_typed_values_user_errors_and_the_sale_workflow() -> None:
    sim = TrytonSimulator()
    async with client(sim) as http:
        headers = await session(http, sim)

        async def call(method: str, *params: Any) -> Any:
            answer = await http.post(
                "/brygga/rpc/", content=body(method, *params, {}), headers=headers
            )
            return answer.json()

        rows = (
            await call(
                "model.product.product.search_read",
                [["code", "=", "MUGG-VIT"]],
                0,
                None,
                None,
                ["code", "template"],
            )
        )["result"]
        [mug] = rows
        template = (
            await call("model.product.template.read", [mug["template"]], ["list_price", "active"])
        )["result"][0]
        assert template["list_price"] == {"__class__": "Decimal", "decimal": "119.20"}
        assert template["active"] == 1  # booleans as 0/1, as trytond on SQLite answers
        missing_party = await call("model.sale.sale.create", [{"reference": "r1"}])
        kind, (message, _description, _domain) = missing_party["error"]
        assert kind == "UserError" and "Party" in message
        party = (await call("model.party.party.create", [{"name": "Kund"}]))["result"][0]
        line = {
            "type": "line",
            "product": mug["id"],
            "quantity": 2.0,
            "unit": sim.ids["unit"],
            "unit_price": {"__class__": "Decimal", "decimal": "119.20"},
            "taxes": [["add", [sim.ids["taxes"][Decimal(25)]]]],
        }
        [sale] = (
            await call(
                "model.sale.sale.create",
                [{"party": party, "reference": "r1", "lines": [["create", [line]]]}],
            )
        )["result"]
        assert (await call("model.sale.sale.confirm", [sale]))["error"][0] == "UserError"
        await call("model.sale.sale.quote", [sale])
        await call("model.sale.sale.confirm", [sale])
        [read] = (
            await call(
                "model.sale.sale.read",
                [sale],
                ["number", "state", "total_amount", "invoices", "shipments"],
            )
        )["result"]
        assert read["number"] == "1" and read["state"] == "processing"
        assert read["total_amount"] == {"__class__": "Decimal", "decimal": "298.00"}
        assert len(read["invoices"]) == 1 and len(read["shipments"]) == 1
        cancel = await call("model.sale.sale.cancel", [sale])
        assert cancel["error"][0] == "UserError"
    sim.order_event("r1", OrderEvent.DELIVERED)
    assert sim.sale("r1")["shipment_state"] == "sent"
    with pytest.raises(ValueError):
        sim.order_event("r1", OrderEvent.CANCELLED)
    [document] = sim.documents_with_reference("r1")
    assert (document.net, document.vat, document.booked) == (
        Decimal("238.40"),
        Decimal("59.60"),
        True,
    )
