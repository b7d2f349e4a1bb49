"""The Starweb simulator speaks API v2: auth, envelope, paging, sorting, includes, totals."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from starweb_support import BASE_URL, Api, place_orders, raw_client, token, utc

from brygga.clock import FakeClock
from brygga.documents import DocumentLine, Totals
from brygga.models import LineKind
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio


# -- authentication --------------------------------------------------------------------------


async def test_token_is_issued_for_client_credentials(sim: StarwebSimulator) -> None:
    async with raw_client(sim) as client:
        response = await client.post(
            "token",
            data={
                "grant_type": "client_credentials",
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
            },
        )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "scope", "expires_in"}
    assert body["expires_in"] == 3600
    assert sim.tokens_issued == 1


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (
            {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
            "invalid_client",
        ),
        (
            {"grant_type": "password", "client_id": "x", "client_secret": "y"},
            "unsupported_grant_type",
        ),
    ],
)
async def test_token_errors_use_the_error_model(
    sim: StarwebSimulator, form: dict[str, str], error: str
) -> None:
    async with raw_client(sim) as client:
        response = await client.post("token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert "error_description" in response.json()
    assert sim.tokens_issued == 0


async def test_token_request_must_be_form_encoded(sim: StarwebSimulator) -> None:
    async with raw_client(sim) as client:
        response = await client.post(
            "token",
            json={
                "grant_type": "client_credentials",
                "client_id": sim.client_id,
                "client_secret": sim.client_secret,
            },
        )
    assert response.status_code == 400


async def test_calls_without_a_valid_token_get_401_invalid_token(sim: StarwebSimulator) -> None:
    async with raw_client(sim) as client:
        missing = await client.get("orders")
        wrong = await client.get("orders", headers={"Authorization": "Bearer nope"})
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_token"


async def test_tokens_expire_after_their_ttl(sim: StarwebSimulator, clock: FakeClock) -> None:
    async with raw_client(sim) as client:
        headers = {"Authorization": f"Bearer {await token(client, sim)}"}
        clock.advance(3599)
        assert (await client.get("orders", headers=headers)).status_code == 200
        clock.advance(1)
        expired = await client.get("orders", headers=headers)
    assert expired.status_code == 401
    assert expired.json()["error"] == "invalid_token"


async def test_revoked_tokens_are_refused(sim: StarwebSimulator) -> None:
    async with raw_client(sim) as client:
        headers = {"Authorization": f"Bearer {await token(client, sim)}"}
        sim.revoke_tokens()
        assert (await client.get("orders", headers=headers)).status_code == 401


# -- envelope, paging, sorting, filters ---------------------------------------------------------


async def test_collection_envelope_and_pagination(
    sim: StarwebSimulator, clock: FakeClock, api: Api
) -> None:
    place_orders(sim, clock, 12)
    async with api() as client:
        pages = [(await client.get("orders", params={"page": n})).json() for n in (1, 2, 3, 4)]
    assert [len(p["data"]) for p in pages] == [5, 5, 2, 0]
    assert pages[1]["meta"]["pagination"] == {
        "current_page": 2,
        "per_page": 5,
        "total": 12,
        "count": 5,
        "total_pages": 3,
    }
    assert pages[3]["meta"]["pagination"]["count"] == 0


async def test_default_sort_is_order_id_descending(
    sim: StarwebSimulator, clock: FakeClock, api: Api
) -> None:
    ids = place_orders(sim, clock, 4)
    async with api() as client:
        default = (await client.get("orders")).json()["data"]
        ascending = (await client.get("orders", params={"sortOrder": "ASC"})).json()["data"]
    assert [str(o["orderId"]) for o in default] == ids[::-1]
    assert [str(o["orderId"]) for o in ascending] == ids


async def test_sort_by_modified_at_follows_edits(
    sim: StarwebSimulator, clock: FakeClock, api: Api
) -> None:
    first, second, third = place_orders(sim, clock, 3)
    sim.touch(first)
    async with api() as client:
        rows = (
            await client.get("orders", params={"sortBy": "modifiedAt", "sortOrder": "DESC"})
        ).json()["data"]
    assert [str(o["orderId"]) for o in rows] == [first, third, second]


async def test_bad_parameters_are_400_with_error_model(api: Api) -> None:
    async with api() as client:
        for params in ({"sortBy": "color"}, {"sortOrder": "UP"}, {"page": "0"}, {"page": "x"}):
            response = await client.get("orders", params=params)
            assert response.status_code == 400, params
            assert response.json()["error"] == "invalid_request"
            assert response.json()["error_description"]


async def test_created_filters_and_status_filter(
    sim: StarwebSimulator, clock: FakeClock, api: Api
) -> None:
    ids = place_orders(sim, clock, 4, step=3600)
    sim.set_status(ids[2], "completed")
    async with api() as client:
        after = await client.get(
            "orders",
            params={"ordersCreatedAfter": "2026-02-02T10:00:00+01:00", "sortOrder": "ASC"},
        )
        window = await client.get(
            "orders",
            params={
                "ordersCreatedAfter": "2026-02-02T08:00:00Z",
                "ordersCreatedBefore": "2026-02-02T10:00:00+00:00",
                "sortOrder": "ASC",
            },
        )
        completed = await client.get("orders", params={"statusFilter": 3})
        unencoded = await client.get(
            f"{BASE_URL}/orders?ordersCreatedAfter=2026-02-02T10:00:00+01:00"
        )
    assert [str(o["orderId"]) for o in after.json()["data"]] == ids[1:]
    assert [str(o["orderId"]) for o in window.json()["data"]] == ids[:2]
    assert [str(o["orderId"]) for o in completed.json()["data"]] == [ids[2]]
    assert unencoded.status_code == 400


async def test_unfinished_checkouts_are_hidden_by_default(sim: StarwebSimulator, api: Api) -> None:
    done = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    unfinished = sim.place_order(lines=[("TE-100", 1)], email="b@example.se", complete=False)
    async with api() as client:
        default = (await client.get("orders")).json()["data"]
        every = (await client.get("orders", params={"includeNonCompletePayments": "true"})).json()[
            "data"
        ]
    assert [str(o["orderId"]) for o in default] == [done]
    assert [(str(o["orderId"]), o["isComplete"]) for o in every] == [
        (unfinished, False),
        (done, True),
    ]


async def test_timestamps_are_stockholm_local_with_offset(
    sim: StarwebSimulator, clock: FakeClock, api: Api
) -> None:
    winter = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    clock.advance(120 * 86400)  # early June: summer time
    summer = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with api() as client:
        w = (await client.get(f"orders/{winter}")).json()["data"]
        s = (await client.get(f"orders/{summer}")).json()["data"]
    assert w["createdAt"] == "2026-02-02T09:00:00+01:00"
    assert s["createdAt"].endswith("+02:00")
    assert datetime.fromisoformat(s["createdAt"]) == utc(2026, 6, 2, 8, 0, 0)


async def test_includes_are_wrapped_in_data(sim: StarwebSimulator, api: Api) -> None:
    order_id = sim.place_order(lines=[("MUGG-VIT", 2)], email="anna.svensson@example.se")
    async with api() as client:
        bare = (await client.get(f"orders/{order_id}")).json()["data"]
        full = (
            await client.get(
                f"orders/{order_id}",
                params={"include": "items,addresses,customer,status,externalServices"},
            )
        ).json()["data"]
        listed = (await client.get("orders", params={"include": "items"})).json()["data"][0]
        unknown = await client.get(f"orders/{order_id}", params={"include": "colours"})
    assert "items" not in bare and "status" not in bare
    assert full["items"]["data"][0]["sku"] == "MUGG-VIT"
    assert full["status"]["data"]["idCode"] == "created"
    assert full["customer"]["data"]["email"] == "anna.svensson@example.se"
    assert full["externalServices"] == {"data": []}
    assert set(full["addresses"]["data"]) == {
        "originalInvoice",
        "originalDelivery",
        "customerInvoice",
        "customerDelivery",
        "paymentMethodInvoice",
        "paymentMethodDelivery",
    }
    assert full["addresses"]["data"]["customerInvoice"]["lastName"] == "Svensson"
    assert listed["items"]["data"][0]["quantity"] == 2
    assert unknown.status_code == 400


async def test_guest_orders_have_no_customer(sim: StarwebSimulator, api: Api) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="gast@example.se", guest=True)
    async with api() as client:
        data = (await client.get(f"orders/{order_id}", params={"include": "customer"})).json()
    assert data["data"]["customerId"] is None
    assert data["data"]["customer"] == {"data": None}
    assert data["data"]["originalCustomerEmail"] == "gast@example.se"


async def test_money_is_json_numbers(sim: StarwebSimulator, api: Api) -> None:
    order_id = sim.place_order(lines=[("MUGG-VIT", 1)], email="a@example.se")
    async with api() as client:
        response = await client.get(f"orders/{order_id}", params={"include": "items"})
    assert '"unitPrice":119.20' in response.text
    assert isinstance(response.json()["data"]["amountToPay"], float)


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [
        ("GET", "orders/999999", 404, "not_found"),
        ("GET", "no-such-thing", 404, "not_found"),
        ("DELETE", "orders", 405, "not_allowed"),
        ("PATCH", "orders/1001", 400, "invalid_request"),
    ],
)
async def test_errors_use_the_error_model(
    sim: StarwebSimulator, api: Api, method: str, path: str, status: int, error: str
) -> None:
    sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with api() as client:
        response = await client.request(method, path, content=b"not json")
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]


# -- totals -----------------------------------------------------------------------------------


async def test_totals_use_per_row_rounding_like_document_lines(
    sim: StarwebSimulator, api: Api
) -> None:
    order_id = sim.place_order(
        lines=[("KAFFE-500", 3), ("TE-100", 1), ("BOK-01", 2)],
        email="a@example.se",
        freight=Decimal("49"),
        discount_percent=Decimal("10"),
        payment_fee=Decimal("19"),
        order_discount=Decimal("20"),
    )
    async with api() as client:
        order = (await client.get(f"orders/{order_id}", params={"include": "items"})).json()
    data = order["data"]
    rows = [
        DocumentLine(
            kind=LineKind.ITEM,
            article_number=item["sku"],
            description="",
            quantity=Decimal(item["quantity"]),
            unit_price=Decimal(str(item["unitPrice"])),
            vat_rate=Decimal(str(item["vatRate"])),
            discount_percent=Decimal(str(item["discount"])),
        )
        for item in data["items"]["data"]
    ]
    for amount, rate in (("shippingCost", "shippingVatRate"), ("paymentFee", "paymentVatRate")):
        rows.append(
            DocumentLine(
                kind=LineKind.FEE,
                article_number="",
                description="",
                quantity=Decimal(1),
                unit_price=Decimal(str(data[amount])),
                vat_rate=Decimal(str(data[rate])),
            )
        )
    totals = Totals.of(rows)
    # 3 x 89 -10 % = 240.30 (VAT 60.075 -> 60.08), and so on: worked out by hand once
    assert Decimal(str(data["totalAmount"])) == totals.net == Decimal("687.00")
    assert Decimal(str(data["totalVat"])) == totals.vat == Decimal("98.43")
    assert Decimal(str(data["amountToPay"])) == totals.gross
    assert sim.order_total(order_id) == (Decimal("785.43"), Decimal("98.43"))
