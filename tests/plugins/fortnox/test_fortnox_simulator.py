"""The Fortnox simulator speaks the documented wire format (reference/erp-apis.md §2).

Sources: §2.1 [doc F2] https://www.fortnox.se/developer/authorization/get-refresh-token;
§2.2/§2.3 wrappers, ``MetaInformation`` and search [spec F1][doc F4]
https://www.fortnox.se/developer/guides-and-good-to-know/parameters; §2.4 [doc F6]
https://www.fortnox.se/developer/guides-and-good-to-know/rate-limits-for-fortnox-api; §2.5
[doc F5] https://www.fortnox.se/developer/guides-and-good-to-know/errors; real-peers §C3
(string-typed list prices).
"""

from __future__ import annotations

import ast
import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from brygga.clock import FakeClock
from brygga_fortnox.simulator import FortnoxSimulator

pytestmark = pytest.mark.anyio


@pytest.fixture
async def raw(sim: FortnoxSimulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the simulator with a valid access token."""
    config = sim.adapter_config("https://api.fortnox.test")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="https://api.fortnox.test"
    ) as client:
        answer = await _refresh(client, config, config["refresh_token"])
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield client


async def _refresh(client: httpx.AsyncClient, config: dict[str, Any], token: str) -> Any:
    basic = base64.b64encode(f"{config['client_id']}:{config['client_secret']}".encode())
    return await client.post(
        "/oauth-v1/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers={"Authorization": f"Basic {basic.decode()}"},
    )


async def test_a_refresh_token_works_once_and_the_answer_has_the_documented_fields(
    sim: FortnoxSimulator, clock: FakeClock
) -> None:
    config = sim.adapter_config("https://x")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url="https://x"
    ) as client:
        first = await _refresh(client, config, config["refresh_token"])
        assert first.status_code == 200
        body = first.json()
        assert set(body) == {"access_token", "refresh_token", "scope", "expires_in", "token_type"}
        assert body["expires_in"] == 3600 and body["token_type"] == "bearer"
        again = await _refresh(client, config, config["refresh_token"])
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        # the new one works (once), and the access token stops working after an hour
        assert (await _refresh(client, config, body["refresh_token"])).status_code == 200
        headers = {"Authorization": f"Bearer {body['access_token']}"}
        assert (await client.get("/3/articles", headers=headers)).status_code == 200
        clock.advance(3600)
        expired = await client.get("/3/articles", headers=headers)
        # responses page: "403 | Forbidden | Failed authentication"; errors: 2000310
        assert expired.status_code == 403
        assert expired.json()["ErrorInformation"]["code"] == 2000310


async def test_lists_are_wrapped_and_paged_with_meta_information(
    raw: httpx.AsyncClient, sim: FortnoxSimulator
) -> None:
    total = len(sim.state.table("articles"))
    first = (await raw.get("/3/articles", params={"limit": 4, "page": 1})).json()
    assert first["MetaInformation"] == {
        "@TotalResources": total,
        "@TotalPages": -(-total // 4),
        "@CurrentPage": 1,
    }
    last = (await raw.get("/3/articles", params={"limit": 4, "page": -(-total // 4)})).json()
    assert 1 <= len(last["Articles"]) <= 4
    too_big = await raw.get("/3/articles", params={"limit": 501})
    assert too_big.status_code == 400
    assert too_big.json()["ErrorInformation"]["code"] == 2000588


async def test_article_list_prices_are_strings_and_single_articles_numbers(
    raw: httpx.AsyncClient,
) -> None:
    listed = (await raw.get("/3/articles", params={"articlenumber": "KAFFE-500"})).json()
    item = listed["Articles"][0]
    assert item["SalesPrice"] == "89.00" and item["VAT"] == "25"
    assert isinstance(item["QuantityInStock"], int | float)
    single = (await raw.get("/3/articles/KAFFE-500")).json()["Article"]
    assert single["SalesPrice"] == 89.0 and single["VAT"] == 25


async def test_search_matches_substrings_case_insensitively(
    raw: httpx.AsyncClient,
) -> None:
    found = (await raw.get("/3/articles", params={"articlenumber": "troja"})).json()
    assert [a["ArticleNumber"] for a in found["Articles"]] == ["TROJA-L", "TROJA-M", "TROJA-S"]
    bad = await raw.get("/3/invoices", params={"filter": "nosuchfilter"})
    assert bad.status_code == 400


async def test_lastmodified_takes_stockholm_minutes(
    raw: httpx.AsyncClient, sim: FortnoxSimulator, clock: FakeClock
) -> None:
    clock.advance(1800)
    sim.set_article("TE-100", Description="Te nytt")
    # the kit clock is at 08:30 UTC after the advance: 09:30 in Stockholm (CET)
    stamp = clock.now().astimezone(ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%d %H:%M")
    assert stamp.endswith("09:30")
    changed = (await raw.get("/3/articles", params={"lastmodified": stamp})).json()
    assert [a["ArticleNumber"] for a in changed["Articles"]] == ["TE-100"]
    bad = await raw.get("/3/articles", params={"lastmodified": "igår"})
    assert bad.status_code == 400


async def test_invoices_errors_and_the_credit_quirk(raw: httpx.AsyncClient) -> None:
    customer = await raw.post("/3/customers", json={"Customer": {"Name": "Kund"}})
    assert customer.status_code == 201
    number = customer.json()["Customer"]["CustomerNumber"]
    assert isinstance(number, str)
    body = {
        "Invoice": {
            "CustomerNumber": number,
            "Freight": 10,
            "InvoiceRows": [
                {"ArticleNumber": "KAFFE-500", "DeliveredQuantity": "2", "Price": 89, "VAT": 25}
            ],
        }
    }
    created = (await raw.post("/3/invoices", json=body)).json()["Invoice"]
    assert created["InvoiceRows"][0]["DeliveredQuantity"] == "2"
    assert isinstance(created["DocumentNumber"], str)
    vat = await raw.post(
        "/3/invoices",
        json={
            "Invoice": {
                **body["Invoice"],
                "InvoiceRows": [
                    {"ArticleNumber": "KAFFE-500", "DeliveredQuantity": "1", "Price": 1, "VAT": 8}
                ],
            }
        },
    )
    assert vat.status_code == 400
    assert set(vat.json()["ErrorInformation"]) == {"error", "message", "code"}
    bad_json = await raw.post("/3/invoices", content=b"{nope", headers={"Content-Type": "x"})
    assert bad_json.json()["ErrorInformation"]["code"] == 2002115
    number = created["DocumentNumber"]
    assert (await raw.put(f"/3/invoices/{number}/bookkeep")).status_code == 200
    credit = (await raw.put(f"/3/invoices/{number}/credit")).json()["Invoice"]
    # rows change sign on the credit invoice; the Freight header field does not
    assert credit["InvoiceRows"][0]["Price"] == -89 and credit["Freight"] == 10
    assert credit["CreditInvoiceReference"] == number


async def test_the_sliding_window_answers_429_beyond_25_requests_in_5_seconds(
    raw: httpx.AsyncClient, sim: FortnoxSimulator, clock: FakeClock
) -> None:
    codes = [(await raw.get("/3/pricelists")).status_code for _ in range(26)]
    assert codes[:25] == [200] * 25 and codes[25] == 429
    clock.advance(5)
    assert (await raw.get("/3/pricelists")).status_code == 200


def test_the_simulator_never_imports_the_adapter() -> None:
    """tests/plugins/test_simulator_boundary.py's rule for this plugin (it lists the plugins
    it checks; until brygga_fortnox is added there, this test holds it)."""
    folder = Path(__file__).resolve().parents[3] / "plugins" / "brygga_fortnox" / "simulator"
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith("brygga_fortnox.") or name.startswith(
                    "brygga_fortnox.simulator"
                ), f"{path.name} imports {name}"


async def test_price_lists_prices_and_the_warehouse_stock_balance(
    raw: httpx.AsyncClient, sim: FortnoxSimulator
) -> None:
    """§2.6: ``/3/pricelists``, ``POST /3/prices``, ``/3/prices/{list}/{article}[/{from}]``,
    ``/3/prices/sublist/{list}/{article}``; the warehouse module's
    ``/api/warehouse/status-v1/stockbalance`` answers ``[{itemId, stockPointCode, inStock,
    availableStock}]`` ([spec F1])."""
    lists = (await raw.get("/3/pricelists")).json()["PriceLists"]
    assert [p["Code"] for p in lists] == ["A", "B"]
    body = {
        "Price": {"ArticleNumber": "KAFFE-500", "PriceList": "B", "FromQuantity": 10, "Price": 79}
    }
    assert (await raw.post("/3/prices", json=body)).status_code == 201
    first = (await raw.get("/3/prices/B/KAFFE-500/10")).json()["Price"]
    assert first["Price"] == 79 and first["PriceList"] == "B"
    sub = (await raw.get("/3/prices/sublist/B/KAFFE-500")).json()["Prices"]
    assert [(p["FromQuantity"], p["Price"]) for p in sub] == [(10, 79)]
    sim.set_stock("KAFFE-500", 7, point="LAGER1")
    balance = await raw.get(
        "/api/warehouse/status-v1/stockbalance", params={"itemIds": "KAFFE-500"}
    )
    assert balance.json() == [
        {"itemId": "KAFFE-500", "stockPointCode": "LAGER1", "inStock": 7, "availableStock": 7}
    ]
