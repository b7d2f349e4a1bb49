"""The Specter simulator on its own: keys, paging limits, no unique ExternalOrderNo, and its
independence from the adapter's wire code (it must not share the adapter's guesses)."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx
import pytest

import brygga_specter
from brygga_specter.simulator import SpecterSimulator

pytestmark = pytest.mark.anyio

BASE = "https://specter.test"


def client(sim: SpecterSimulator, **headers: str) -> httpx.AsyncClient:
    keys = {
        "ApiUserKey": sim.api_user_key,
        "IntegrationKey": sim.integration_key,
        "SbmId": str(sim.sbm_id),
    }
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url=BASE, headers={**keys, **headers}
    )


async def test_wrong_keys_are_401_and_logged() -> None:
    sim = SpecterSimulator()
    async with client(sim, IntegrationKey="wrong") as http:
        response = await http.get("/customers")
    assert response.status_code == 401
    assert response.json()["Errors"][0]["Code"] == "Unauthorized"
    assert sim.requests == [("GET", "/customers")]


async def test_page_size_is_capped_and_pages_are_counted() -> None:
    sim = SpecterSimulator()
    async with client(sim) as http:
        too_big = await http.get("/items", params={"PageSize": 501})
        first = (await http.get("/items", params={"PageSize": 5})).json()
        last = (await http.get("/items", params={"PageSize": 5, "Page": 3})).json()
    assert too_big.status_code == 400
    assert (first["Page"], first["TotalPages"], len(first["Data"])) == (1, 3, 5)
    assert len(last["Data"]) == len(sim.state.items) - 10


async def test_the_same_external_order_number_makes_a_second_document() -> None:
    """Wire assumption 7 (§3.4: whether Specter refuses duplicates is unknown): the worst
    case, so only the adapter's lookup keeps a document single."""
    sim = SpecterSimulator()
    customer = sim.add_customer(Name="A", EmailAddress="a@example.se")
    body = {
        "CustomerId": customer,
        "ExternalOrderNo": "brygga:x:1",
        "OrderDate": "2026-03-02",
        "Currency": "SEK",
        "Rows": [{"ItemCode": "MUGG-VIT", "Quantity": 1, "PriceExVat": 10, "VatPercentage": 25}],
    }
    async with client(sim) as http:
        answers = [await http.post("/invoices", json=body) for _ in range(2)]
        unknown = await http.post(
            "/invoices", json={**body, "Rows": [{**body["Rows"][0], "ItemCode": "NOSUCH"}]}
        )
    assert [a.status_code for a in answers] == [201, 201]
    assert len(sim.documents_with_reference("brygga:x:1")) == 2
    assert unknown.status_code == 400
    assert unknown.json()["Errors"][0]["Field"] == "Rows[0].ItemCode"


def test_no_simulator_module_imports_the_adapter_side() -> None:
    folder = Path(brygga_specter.__file__).parent / "simulator"
    offenders = {}
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = "brygga_specter" + ("" if node.level > 1 else ".simulator")
                    base += f".{node.module}" if node.module else ""
                names = [base, *(f"{base}.{a.name}" for a in node.names)]
            bad = [
                n
                for n in names
                if (
                    n.startswith("brygga_specter.") and not n.startswith("brygga_specter.simulator")
                )
                or n == "brygga_specter"
            ]
            if bad:
                offenders[path.name] = bad
    assert offenders == {}
    assert len(list(folder.glob("*.py"))) >= 5
