"""The e-conomic simulator's documents: validation errors, per-row totals, booking, orders."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from economic_support import BASE_URL, draft_body

from brygga.documents import DocumentLine, Totals
from brygga.models import LineKind
from brygga_economic.simulator import EconomicSimulator

pytestmark = pytest.mark.anyio

Api = Callable[..., httpx.AsyncClient]

ERROR_KEYS = {"message", "developerHint", "logId", "httpStatusCode", "logTime"}


# --- validation ----------------------------------------------------------------------------


async def test_validation_errors_mirror_the_body(api: Api, customer_one: int) -> None:
    body = draft_body(
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
    body = draft_body(layout=None)
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
        content = _json(draft_body(lines=lines))
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
        created = (await client.post("/invoices/drafts", json=draft_body(lines=lines))).json()
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
        order = (await client.post("/orders/drafts", json=draft_body())).json()
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
        number = (await client.post("/invoices/drafts", json=draft_body())).json()[
            "draftInvoiceNumber"
        ]
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


async def _chain_rate(client: httpx.AsyncClient, group: int, zone: int) -> Any:
    """A group's VAT rate in ``zone``, read over HTTP the documented way (e-conomic/slate
    source/includes/_product-groups.md, _accounts.md, _vat-accounts.md)."""
    sales = (await client.get(f"/product-groups/{group}/sales-accounts")).json()
    [row] = [r for r in sales["collection"] if r["salesVatZone"]["vatZoneNumber"] == zone]
    account = (await client.get(f"/accounts/{row['account']['accountNumber']}")).json()
    vat = await client.get(f"/vat-accounts/{account['vatAccount']['vatCode']}")
    return vat.json()["ratePercentage"]


async def test_reference_data_is_seeded(api: Api) -> None:
    async with api() as client:
        zones = (await client.get("/vat-zones")).json()["collection"]
        groups = (await client.get("/product-groups")).json()["collection"]
        domestic = [await _chain_rate(client, g["productGroupNumber"], 1) for g in groups]
        abroad = [
            await _chain_rate(client, g["productGroupNumber"], z) for g in groups for z in (2, 3)
        ]
        currencies = (await client.get("/currencies")).json()["collection"]
        layout = await client.get("/layouts/19")
    assert [(z["vatZoneNumber"], z["name"]) for z in zones] == [
        (1, "Domestic"),
        (2, "EU"),
        (3, "Abroad"),
    ]
    assert sorted(domestic) == [0, 6, 12, 25]
    assert set(abroad) == {0}
    assert {c["code"] for c in currencies} == {"SEK", "EUR", "NOK", "DKK"}
    assert layout.status_code == 200


async def test_product_groups_carry_no_vat_shortcut(api: Api) -> None:
    """The documented product group has no ``vatAccount``: VAT is reached only through its
    sales accounts (e-conomic/slate source/includes/_product-groups.md)."""
    async with api() as client:
        groups = (await client.get("/product-groups")).json()["collection"]
        product = (await client.get("/products/KAFFE-500")).json()
        missing = await client.get("/product-groups/99/sales-accounts")
        account = await client.get("/accounts/424242")
        sales = (await client.get("/product-groups/1/sales-accounts")).json()
    assert groups and all("vatAccount" not in g for g in groups)
    assert all(
        g["salesAccounts"].endswith(f"/product-groups/{g['productGroupNumber']}/sales-accounts")
        for g in groups
    )
    assert "vatAccount" not in product["productGroup"]
    assert missing.status_code == 404 and account.status_code == 404
    assert set(sales) >= {"collection", "pagination", "self"}


async def test_booked_vat_follows_the_recipient_zone_through_the_chain(
    api: Api, sim: EconomicSimulator
) -> None:
    sim.add_customer(name="Anna")
    sim.state.add_account(3999, "Försäljning utan momskod", None)
    sim.state.sales_accounts[1][2] = 3999  # EU sales of group 1: an account without VAT code
    async with api() as client:
        eu = await client.post(
            "/invoices/drafts",
            json=draft_body(recipient={"name": "Anna", "vatZone": {"vatZoneNumber": 2}}),
        )
        home = await client.post("/invoices/drafts", json=draft_body())
    assert (eu.json()["vatAmount"], home.json()["vatAmount"]) == (0, 22.25)


def test_seed_catalog_can_be_left_out() -> None:
    assert EconomicSimulator(seed_catalog=False).state.products == {}
    seeded = EconomicSimulator().state
    assert seeded.product_rate("KAFFE-500") == 25
    assert seeded.product_rate("fraktavg-12") == 12
    assert seeded.product_rate("avrundning") == 0


def _json(obj: Any) -> bytes:
    from brygga_economic.wire import encode_json

    return encode_json(obj)
