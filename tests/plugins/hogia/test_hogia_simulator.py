"""The Hogia simulator on its own: tokens, the organisation prefix, the lagging API database,
error forms, and its independence from the adapter's wire code."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

import brygga_hogia
from brygga.clock import FakeClock
from brygga.testing.conformance.harness import KIT_START
from brygga_hogia.simulator import HogiaSimulator

pytestmark = pytest.mark.anyio

BASE = "https://hogia.test"


async def token(http: httpx.AsyncClient, sim: HogiaSimulator, secret: str = "") -> httpx.Response:
    return await http.post(
        "/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": secret or sim.client_secret,
        },
    )


def client(sim: HogiaSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=BASE)


async def test_tokens_expire_and_the_organisation_must_match() -> None:
    """§4.2 [H3]: OAuth2 client credentials; requests go to /{organizationGuid}/…"""
    clock = FakeClock(KIT_START)
    sim = HogiaSimulator(clock=clock)
    async with client(sim) as http:
        assert (await token(http, sim, "wrong")).status_code == 400
        answer = (await token(http, sim)).json()
        auth = {"Authorization": f"Bearer {answer['access_token']}"}
        ok = await http.get(f"/{sim.organization}/articles", headers=auth)
        other = await http.get("/00000000-0000-0000-0000-000000000000/articles", headers=auth)
        clock.advance(answer["expires_in"] + 1)
        expired = await http.get(f"/{sim.organization}/articles", headers=auth)
    assert ok.status_code == 200 and ok.json()["totalItems"] == len(sim.state.articles)
    assert other.status_code == 404
    assert expired.status_code == 401
    assert isinstance(expired.json(), list) and expired.json()[0]["errorCode"] == "Unauthorized"


async def test_changes_land_in_the_api_database_after_the_lag() -> None:
    """§4.1 [H1]: integrators read an API database that Hogia Smart writes its changes into."""
    clock = FakeClock(KIT_START)
    sim = HogiaSimulator(clock=clock, lag=45, seed_catalog=False)
    sim.add_article("A-1", "A", Decimal(10), Decimal(25))
    sim.set_stock("A-1", Decimal(3))
    async with client(sim) as http:
        auth = {"Authorization": f"Bearer {(await token(http, sim)).json()['access_token']}"}
        path = f"/{sim.organization}/changes"
        early = (await http.get(path, headers=auth)).json()
        clock.advance(45)
        landed = (await http.get(path, headers=auth)).json()
        window = {"loggedFrom": "2000-01-01T00:00:00Z", "loggedTo": "2026-03-02T08:00:45Z"}
        before = (await http.get(path, headers=auth, params=window)).json()
        bad = await http.get(path, headers=auth, params={"loggedFrom": "yesterday"})
    assert early["items"] == []
    assert [(c["entity"], c["source"]) for c in landed["items"]] == [
        ("article", "erp"),
        ("stock", "pos"),
    ]
    assert before["items"] == []  # landed at 08:00:45, the end is exclusive
    assert bad.status_code == 400 and "loggedFrom" in bad.json()["errors"]


async def test_an_unknown_article_on_an_invoice_is_a_400_naming_the_row() -> None:
    sim = HogiaSimulator()
    customer = sim.add_customer(givenName="A", emailAddress="a@example.se")
    line = {"articleNumber": "KAFFE-500", "description": "x", "quantity": 1, "unitPrice": 10}
    body = {
        "customerNumber": customer,
        "invoiceDate": "2026-03-02",
        "currencyCode": "SEK",
        "customerInvoiceReferences": [{"referenceType": "External", "value": "brygga:x:1"}],
        "invoiceLines": [{**line, "vat": 25}, {**line, "articleNumber": "NOSUCH", "vat": 25}],
    }
    async with client(sim) as http:
        auth = {"Authorization": f"Bearer {(await token(http, sim)).json()['access_token']}"}
        path = f"/{sim.organization}/customerinvoices"
        refused = await http.post(path, headers=auth, json=body)
        text_row = {**line, "articleNumber": "", "vat": 25}
        body["invoiceLines"] = [{**line, "vat": 25}, text_row]
        twice = [await http.post(path, headers=auth, json=body) for _ in range(2)]
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["invoiceLines[1].articleNumber"]
    assert [a.status_code for a in twice] == [201, 201]
    assert len(sim.documents_with_reference("brygga:x:1")) == 2  # no uniqueness (modelled)


def test_no_simulator_module_imports_the_adapter_side() -> None:
    folder = Path(brygga_hogia.__file__).parent / "simulator"
    offenders = {}
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = "brygga_hogia" + ("" if node.level > 1 else ".simulator")
                    base += f".{node.module}" if node.module else ""
                names = [base, *(f"{base}.{a.name}" for a in node.names)]
            bad = [
                n
                for n in names
                if (n.startswith("brygga_hogia.") and not n.startswith("brygga_hogia.simulator"))
                or n == "brygga_hogia"
            ]
            if bad:
                offenders[path.name] = bad
    assert offenders == {}
    assert len(list(folder.glob("*.py"))) >= 5
