"""The e-conomic simulator speaks the documented API: auth, paging, filters, errors, totals."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from economic_support import BASE_URL

from brygga.clock import FakeClock
from brygga.documents import DocumentLine, Totals
from brygga.models import LineKind
from brygga.simulation import Fault
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

Api = Callable[..., httpx.AsyncClient]

ERROR_KEYS = {"message", "developerHint", "logId", "httpStatusCode", "logTime"}


def draft(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "date": "2026-01-02",
        "currency": "SEK",
        "customer": {"customerNumber": 1},
        "recipient": {"name": "Anna", "vatZone": {"vatZoneNumber": 1}},
        "layout": {"layoutNumber": 19},
        "paymentTerms": {"paymentTermsNumber": 1},
        "references": {"other": "ref-1"},
        "lines": [{"product": {"productNumber": "KAFFE-500"}, "quantity": 1, "unitNetPrice": 89}],
    }
    return body | overrides


@pytest.fixture
def customer_one(sim: EconomicSimulator) -> int:
    return sim.add_customer(name="Anna Andersson", email="anna@example.se")


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
            body = draft(references={"other": reference})
            assert (await client.post("/invoices/drafts", json=body)).status_code == 201
        found = (
            await client.get(
                "/invoices/drafts",
                params={"filter": "references.other$eq:REF-2$and:customer.customerNumber$eq:1"},
            )
        ).json()
    assert [d["draftInvoiceNumber"] for d in found["collection"]] == [2]


# --- validation ----------------------------------------------------------------------------


async def test_validation_errors_mirror_the_body(api: Api, customer_one: int) -> None:
    body = draft(
        currency="ZUL",
        customer={"customerNumber": 987987987},
        lines=[
            {"product": {"productNumber": "KAFFE-500"}, "quantity": 1, "unitNetPrice": 10.12345},
            {"product": {}, "quantity": 1},
            {"product": {"productNumber": "KAFFE-500"}},
            {"product": {"productNumber": "NO-SUCH"}, "quantity": 1},
        ],
    )
    async with api() as client:
        response = await client.post("/invoices/drafts", json=body)
    assert response.status_code == 400
    error = response.json()
    assert ERROR_KEYS | {"errors"} <= error.keys()
    assert error["httpStatusCode"] == 400
    errors = error["errors"]
    assert errors["currency"]["errors"][0]["errorCode"] == "E06000"
    assert errors["customer"]["errors"][0]["value"] == 987987987
    by_index = {line["arrayIndex"]: line for line in errors["lines"]}
    assert by_index[0]["unitNetPrice"]["errors"][0]["errorCode"] == "E04740"
    assert by_index[1]["product"]["errors"][0]["errorCode"] == "E04500"
    assert by_index[2]["quantity"]["errors"][0]["errorCode"] == "E04730"
    assert by_index[3]["product"]["errors"][0]["errorCode"] == "E06000"
    assert by_index[3]["product"]["errors"][0]["value"] == "NO-SUCH"


async def test_required_fields_and_nulls(api: Api, customer_one: int) -> None:
    body = draft(layout=None)
    del body["paymentTerms"]
    async with api() as client:
        response = await client.post("/invoices/drafts", json=body)
    errors = response.json()["errors"]
    assert response.status_code == 400
    assert set(errors) == {"layout", "paymentTerms"}


async def test_customer_post_requires_the_documented_fields(api: Api) -> None:
    async with api() as client:
        response = await client.post("/customers", json={"email": "x@example.se"})
        assert response.status_code == 400
        assert {"name", "currency", "customerGroup", "paymentTerms", "vatZone"} <= set(
            response.json()["errors"]
        )
        created = await client.post(
            "/customers",
            json={
                "name": "Anna",
                "currency": "SEK",
                "customerGroup": {"customerGroupNumber": 1},
                "paymentTerms": {"paymentTermsNumber": 1},
                "vatZone": {"vatZoneNumber": 1},
            },
        )
        assert created.status_code == 201
        number = created.json()["customerNumber"]
        assert created.headers["location"] == f"{BASE_URL}/customers/{number}"
        fetched = await client.get(f"/customers/{number}")
        missing = await client.get("/customers/999")
    assert fetched.json()["name"] == "Anna"
    assert missing.status_code == 404


# --- totals and booking --------------------------------------------------------------------


async def test_totals_use_per_row_rounding(
    api: Api, sim: EconomicSimulator, customer_one: int
) -> None:
    rows = [
        ("KAFFE-500", "3", "89.33", "12.5"),
        ("TE-100", "7", "0.15", "0"),
        ("BOK-01", "1", "199.99", "33.33"),
        ("CHOKLAD-70", "2.5", "32.51", "0"),
        ("MUGG-VIT", "1", "0.05", "0"),
    ]
    lines = [
        {
            "product": {"productNumber": sku},
            "quantity": Decimal(quantity),
            "unitNetPrice": Decimal(price),
            "discountPercentage": Decimal(discount),
        }
        for sku, quantity, price, discount in rows
    ]
    expected = Totals.of(
        DocumentLine(
            kind=LineKind.ITEM,
            article_number=sku,
            description="",
            quantity=Decimal(quantity),
            unit_price=Decimal(price),
            vat_rate=sim.state.product_rate(sku),
            discount_percent=Decimal(discount),
        )
        for sku, quantity, price, discount in rows
    )
    async with api() as client:
        content = _json(draft(lines=lines))
        response = await client.post(
            "/invoices/drafts", content=content, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 201, response.text
    [document] = sim.documents()
    assert document.net == expected.net
    assert document.vat == expected.vat
    assert document.gross == expected.gross
    assert document.vat_by_rate == expected.vat_by_rate


async def test_booking_moves_the_draft_and_adds_line_vat(
    api: Api, sim: EconomicSimulator, customer_one: int
) -> None:
    lines = [
        {"product": {"productNumber": "KAFFE-500"}, "quantity": 1, "unitNetPrice": 89},
        {"product": {"productNumber": "TE-100"}, "quantity": 2, "unitNetPrice": 45},
    ]
    async with api() as client:
        created = (await client.post("/invoices/drafts", json=draft(lines=lines))).json()
        number = created["draftInvoiceNumber"]
        booked = await client.post(
            "/invoices/booked", json={"draftInvoice": {"draftInvoiceNumber": number}}
        )
        again = await client.post(
            "/invoices/booked", json={"draftInvoice": {"draftInvoiceNumber": number}}
        )
        drafts = (await client.get("/invoices/drafts")).json()
    assert booked.status_code == 201
    invoice = booked.json()
    assert invoice["bookedInvoiceNumber"] != number
    assert [
        (line["vatRate"], line["vatAmount"], line["totalNetAmount"]) for line in invoice["lines"]
    ] == [
        (25, 22.25, 89),
        (12, 10.8, 90),
    ]
    assert invoice["grossAmount"] == 89 + 90 + 22.25 + 10.8
    assert again.status_code == 400
    assert drafts["collection"] == []
    [document] = sim.documents()
    assert document.booked and document.reference == "ref-1"


async def test_orders_drafts_and_sent(api: Api, sim: EconomicSimulator, customer_one: int) -> None:
    async with api() as client:
        order = (await client.post("/orders/drafts", json=draft())).json()
        sent = await client.post("/orders/sent", json=order)
        drafts = (await client.get("/orders/drafts")).json()
        listed = (await client.get("/orders/sent")).json()
    assert sent.status_code == 201
    assert sent.json()["orderNumber"] == order["orderNumber"]
    assert drafts["collection"] == []
    assert [o["orderNumber"] for o in listed["collection"]] == [order["orderNumber"]]
    assert [d.booked for d in sim.documents_with_reference("ref-1")] == [True]


async def test_draft_delete(api: Api, sim: EconomicSimulator, customer_one: int) -> None:
    async with api() as client:
        number = (await client.post("/invoices/drafts", json=draft())).json()["draftInvoiceNumber"]
        deleted = await client.delete(f"/invoices/drafts/{number}")
        gone = await client.get(f"/invoices/drafts/{number}")
    assert deleted.json()["deletedCount"] == 1
    assert gone.status_code == 404
    assert sim.documents() == []


# --- products and self links ---------------------------------------------------------------


async def test_product_self_link_encoding(api: Api, sim: EconomicSimulator) -> None:
    number = "Awesome Product_5%"
    sim.add_article(number, "Odd", Decimal("1.00"), Decimal("25"))
    async with api() as client:
        response = await client.get("/products/Awesome_9_Product_8_5_3_")
        put = await client.put(
            "/products/A_6_B",
            json={"name": "Slash", "productGroup": {"productGroupNumber": 2}},
        )
    assert response.status_code == 200
    body = response.json()
    assert body["productNumber"] == number
    assert body["self"] == f"{BASE_URL}/products/Awesome_9_Product_8_5_3_"
    assert put.status_code == 201
    assert sim.state.products["A/B"]["productGroup"]["productGroupNumber"] == 2


async def test_add_article_creates_a_group_for_a_new_rate(sim: EconomicSimulator) -> None:
    sim.add_article("LYX-1", "Lyx", Decimal("10.00"), Decimal("7.5"))
    assert sim.state.product_rate("LYX-1") == Decimal("7.5")
    assert sim.state.product_rate("TE-100") == Decimal("12")


async def test_reference_data_is_seeded(api: Api) -> None:
    async with api() as client:
        zones = (await client.get("/vat-zones")).json()["collection"]
        groups = (await client.get("/product-groups")).json()["collection"]
        accounts = {
            a["vatCode"]: a["ratePercentage"]
            for a in (await client.get("/vat-accounts")).json()["collection"]
        }
        currencies = (await client.get("/currencies")).json()["collection"]
        layout = await client.get("/layouts/19")
    assert [(z["vatZoneNumber"], z["name"]) for z in zones] == [
        (1, "Domestic"),
        (2, "EU"),
        (3, "Abroad"),
    ]
    assert sorted(accounts[g["vatAccount"]["vatCode"]] for g in groups) == [0, 6, 12, 25]
    assert {c["code"] for c in currencies} == {"SEK", "EUR", "NOK", "DKK"}
    assert layout.status_code == 200


def test_seed_catalog_can_be_left_out() -> None:
    assert EconomicSimulator(seed_catalog=False).state.products == {}
    seeded = EconomicSimulator().state
    assert seeded.product_rate("KAFFE-500") == 25
    assert seeded.product_rate("fraktavg-12") == 12
    assert seeded.product_rate("avrundning") == 0


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


def _json(obj: Any) -> bytes:
    from brygga_economic.wire import encode_json

    return encode_json(obj)
