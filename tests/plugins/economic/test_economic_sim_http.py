"""The e-conomic simulator's HTTP surface: auth, paging, filters, rate limit and faults."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from economic_support import BASE_URL, draft_body

from brygga.clock import FakeClock
from brygga.testing import Fault
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

Api = Callable[..., httpx.AsyncClient]

ERROR_KEYS = {"message", "developerHint", "logId", "httpStatusCode", "logTime"}


# --- auth ----------------------------------------------------------------------------------


async def test_missing_tokens_get_401_with_the_error_shape(sim: EconomicSimulator) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url=BASE_URL
    ) as client:
        response = await client.get("/customers")
    assert response.status_code == 401
    body = response.json()
    assert body.keys() >= ERROR_KEYS
    assert body["httpStatusCode"] == 401


async def test_wrong_token_gets_401_without_echoing_it(api: Api, sim: EconomicSimulator) -> None:
    async with api(**{"X-AgreementGrantToken": "stolen-grant-xyz"}) as client:
        response = await client.get("/customers")
    assert response.status_code == 401
    assert "stolen-grant-xyz" not in response.text
    assert sim.agreement_grant_token not in response.text


async def test_valid_tokens_reach_the_api(api: Api) -> None:
    async with api() as client:
        response = await client.get("/self")
    assert response.status_code == 200
    assert response.json()["self"] == f"{BASE_URL}/self"


# --- paging --------------------------------------------------------------------------------


async def test_paging_follows_next_page_to_the_end(api: Api, sim: EconomicSimulator) -> None:
    for index in range(40):
        sim.add_article(f"EXTRA-{index:02}", f"Extra {index}", Decimal("10.00"), Decimal("25"))
    expected = len(sim.state.products)
    seen: list[str] = []
    url: str | None = f"{BASE_URL}/products?skippages=0&pagesize=7"
    pages = []
    async with api() as client:
        while url is not None:
            body = (await client.get(url)).json()
            pages.append(body["pagination"])
            seen += [p["productNumber"] for p in body["collection"]]
            url = body["pagination"].get("nextPage")
    assert len(seen) == expected == len(set(seen))
    assert len(pages) == -(-expected // 7)
    last = pages[-1]
    assert "nextPage" not in last
    assert last["lastPage"].endswith(f"skippages={len(pages) - 1}&pagesize=7")
    first = pages[0]
    assert first["results"] == first["resultsWithoutFilter"] == expected
    assert first["maxPageSizeAllowed"] == 1000
    assert first["pageSize"] == 7 and first["skipPages"] == 0
    assert first["firstPage"].startswith(f"{BASE_URL}/products?")


async def test_default_page_size_is_20(api: Api, sim: EconomicSimulator) -> None:
    for index in range(30):
        sim.add_article(f"EXTRA-{index:02}", f"Extra {index}", Decimal("1.00"), Decimal("25"))
    async with api() as client:
        body = (await client.get("/products")).json()
    assert len(body["collection"]) == 20
    assert body["pagination"]["pageSize"] == 20
    assert "skippages=1" in body["pagination"]["nextPage"]


async def test_page_size_above_the_maximum_is_a_400(api: Api) -> None:
    async with api() as client:
        response = await client.get("/products", params={"pagesize": 1001})
    assert response.status_code == 400
    assert response.json().keys() >= ERROR_KEYS


async def test_paging_links_keep_the_filter(api: Api, sim: EconomicSimulator) -> None:
    for index in range(5):
        sim.add_article(f"TEST-{index}", f"Test {index}", Decimal("1.00"), Decimal("25"))
    async with api() as client:
        first = (
            await client.get("/products", params={"filter": "name$like:test", "pagesize": 2})
        ).json()
        second = (await client.get(first["pagination"]["nextPage"])).json()
    assert first["pagination"]["results"] == 5
    assert first["pagination"]["resultsWithoutFilter"] == len(sim.state.products)
    assert [p["productNumber"] for p in second["collection"]] == ["TEST-2", "TEST-3"]


# --- filters -------------------------------------------------------------------------------


async def filter_numbers(client: httpx.AsyncClient, path: str, expression: str) -> list[Any]:
    response = await client.get(path, params={"filter": expression, "pagesize": 1000})
    assert response.status_code == 200, response.text
    key = "customerNumber" if path == "/customers" else "productNumber"
    return [item[key] for item in response.json()["collection"]]


async def test_filter_operators(api: Api, sim: EconomicSimulator) -> None:
    sim.add_customer(name="Anna", email="Anna@Example.se", city="Lund")
    sim.add_customer(name="Bo", email="bo@example.se", city="Malmö")
    sim.add_customer(name="Cecilia", city="Lund")
    async with api() as client:
        assert await filter_numbers(client, "/customers", "email$eq:anna@example.SE") == [1]
        assert await filter_numbers(client, "/customers", "email$ne:anna@example.se") == [2, 3]
        assert await filter_numbers(client, "/customers", "email$eq:$null:") == [3]
        assert await filter_numbers(client, "/customers", "customerNumber$gt:1") == [2, 3]
        assert await filter_numbers(client, "/customers", "customerNumber$lte:2") == [1, 2]
        assert await filter_numbers(client, "/customers", "customerNumber$in:[1,3]") == [1, 3]
        assert await filter_numbers(client, "/customers", "customerNumber$nin:[1,3]") == [2]
        assert await filter_numbers(client, "/customers", "name$like:ILI") == [3]
        assert await filter_numbers(client, "/customers", "name$like:b*") == [2]
        assert await filter_numbers(client, "/customers", "city$eq:lund$and:name$eq:cecilia") == [3]
        assert await filter_numbers(client, "/customers", "name$eq:bo$or:name$eq:anna") == [1, 2]
        assert await filter_numbers(
            client, "/customers", "city$eq:lund$and:(name$eq:bo$or:name$eq:anna)"
        ) == [1]


async def test_filter_escapes(api: Api, sim: EconomicSimulator) -> None:
    sim.add_article("ODD-1", "Mugg (vit), 2*[stor] $", Decimal("1.00"), Decimal("25"))
    async with api() as client:
        escaped = "name$eq:Mugg $(vit$)$, 2$*$[stor$] $$"
        assert await filter_numbers(client, "/products", escaped) == ["ODD-1"]
        response = await client.get("/products", params={"filter": "name$eq:Mugg (vit)"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "expression",
    [
        "website$eq:x",  # not a property of the collection's filterable set
        "balanceX$eq:1",
        "name$xx:1",
        "name$eq:a$and:",
        "(name$eq:a",
        "name$eq:a)",
        "name$in:[a,b]",
        "customerNumber$in:[" + ",".join(str(n) for n in range(201)) + "]",
    ],
)
async def test_bad_filters_are_400(api: Api, expression: str) -> None:
    async with api() as client:
        response = await client.get("/products", params={"filter": expression})
    assert response.status_code == 400
    assert response.json().keys() >= ERROR_KEYS


async def test_nested_property_filters(api: Api, sim: EconomicSimulator, customer_one: int) -> None:
    async with api() as client:
        for reference in ("ref-1", "ref-2"):
            body = draft_body(references={"other": reference})
            assert (await client.post("/invoices/drafts", json=body)).status_code == 201
        found = (
            await client.get(
                "/invoices/drafts",
                params={"filter": "references.other$eq:REF-2$and:customer.customerNumber$eq:1"},
            )
        ).json()
    assert [d["draftInvoiceNumber"] for d in found["collection"]] == [2]


# --- rate limit and faults -----------------------------------------------------------------


async def test_rate_limit_answers_429_with_retry_after(clock: FakeClock) -> None:
    sim = EconomicSimulator(clock=clock, rate_limit=(3, 2.0))
    headers = {
        "X-AppSecretToken": sim.app_secret_token,
        "X-AgreementGrantToken": sim.agreement_grant_token,
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim.app), base_url=BASE_URL, headers=headers
    ) as client:
        statuses = [(await client.get("/self")).status_code for _ in range(4)]
        limited = await client.get("/self")
        clock.advance(2.0)
        after = await client.get("/self")
    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert after.status_code == 200


async def test_faults_apply_to_every_route(api: Api, sim: EconomicSimulator) -> None:
    sim.faults.add(Fault("status", path="^/products", times=1, status=503))
    async with api() as client:
        first = await client.get("/products")
        second = await client.get("/products")
    assert first.status_code == 503
    assert second.status_code == 200
    assert sim.faults.fired == {"status": 1}
