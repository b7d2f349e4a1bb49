"""The Starweb simulator speaks API v2: auth, envelope, paging, sorting, includes, errors."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from decimal import Decimal

import httpx
import pytest
from starweb_support import BASE_URL, token, utc

from brygga.clock import FakeClock
from brygga.documents import DocumentLine, Totals
from brygga.models import LineKind
from brygga.simulation import Fault
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio

Api = Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]


def raw_client(sim: StarwebSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=BASE_URL + "/")


def place(sim: StarwebSimulator, clock: FakeClock, count: int, step: float = 60) -> list[str]:
    ids = []
    for n in range(count):
        ids.append(sim.place_order(lines=[("KAFFE-500", n % 3 + 1)], email=f"k{n}@example.se"))
        clock.advance(step)
    return ids


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
    place(sim, clock, 12)
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
    ids = place(sim, clock, 4)
    async with api() as client:
        default = (await client.get("orders")).json()["data"]
        ascending = (await client.get("orders", params={"sortOrder": "ASC"})).json()["data"]
    assert [str(o["orderId"]) for o in default] == ids[::-1]
    assert [str(o["orderId"]) for o in ascending] == ids


async def test_sort_by_modified_at_follows_edits(
    sim: StarwebSimulator, clock: FakeClock, api: Api
) -> None:
    first, second, third = place(sim, clock, 3)
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
    ids = place(sim, clock, 4, step=3600)
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


# -- writes -------------------------------------------------------------------------------------


async def test_status_patch_records_email_and_capture(
    sim: StarwebSimulator, clock: FakeClock, api: Api
) -> None:
    quiet = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    loud = sim.place_order(lines=[("TE-100", 1)], email="b@example.se")
    clock.advance(60)
    async with api() as client:
        response = await client.patch(
            f"orders/{quiet}",
            json={
                "statusId": 3,
                "onOrderStatusChangeSendEmail": False,
                "onOrderStatusChangeProcessPayment": False,
                "shippingTrackingNo": "PN123",
            },
        )
        await client.patch(f"orders/{loud}", json={"statusId": 3})
    assert response.status_code == 200
    assert response.json()["data"]["modifiedAt"] == "2026-02-02T09:01:00+01:00"
    assert response.json()["data"]["shippingTrackingNo"] == "PN123"
    (change,) = sim.status_changes(quiet)
    assert (change.status, change.email_sent, change.payment_action) == ("completed", False, "")
    assert change.tracking_number == "PN123"
    (change,) = sim.status_changes(loud)
    assert (change.email_sent, change.payment_action) == (True, "captured")
    assert sim.order(loud).payment_status == "captured"


async def test_send_emails_on_status_change_is_sticky(sim: StarwebSimulator, api: Api) -> None:
    first = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    second = sim.place_order(lines=[("TE-100", 1)], email="b@example.se")
    async with api() as client:
        await client.patch(
            f"orders/{first}", json={"statusId": 4, "sendEmailsOnStatusChange": False}
        )
        await client.patch(f"orders/{second}", json={"statusId": 4})
    assert [c.email_sent for c in sim.status_changes(first) + sim.status_changes(second)] == [
        False,
        False,
    ]
    assert sim.status_changes(second)[0].payment_action == "canceled"


async def test_status_patch_validation(sim: StarwebSimulator, api: Api) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with api() as client:
        bad_status = await client.patch(f"orders/{order_id}", json={"statusId": 99})
        bad_type = await client.patch(f"orders/{order_id}", json={"statusId": "3"})
        read_only = await client.patch(f"orders/{order_id}", json={"totalAmount": 1})
        put_without_status = await client.put(f"orders/{order_id}", json={"isRead": True})
    for response in (bad_status, bad_type, read_only, put_without_status):
        assert response.status_code == 400
    assert sim.status_changes(order_id) == []


async def test_external_services_create_upsert_and_read_only(
    sim: StarwebSimulator, api: Api
) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    base = f"orders/{order_id}/external-services"
    async with api() as client:
        created = await client.post(base, json={"serviceName": "Fortnox", "externalIdValue": "7"})
        duplicate = await client.post(base, json={"serviceName": "Fortnox", "externalIdValue": "8"})
        upsert_new = await client.put(f"{base}/brygga", json={"externalIdValue": "10001"})
        upsert_old = await client.put(f"{base}/brygga", json={"externalIdValue": "10002"})
        read_only = await client.post(
            base, json={"serviceName": "Lås", "externalIdValue": "1", "readOnly": True}
        )
        locked = await client.put(f"{base}/Lås", json={"externalIdValue": "2"})
        listed = (await client.get(base)).json()["data"]
        missing = await client.get(f"{base}/nope")
    assert created.status_code == 201
    assert duplicate.status_code == 400
    assert (upsert_new.status_code, upsert_old.status_code) == (201, 200)
    assert read_only.status_code == 201
    assert locked.status_code == 403 and locked.json()["error"] == "forbidden"
    assert [s["serviceName"] for s in listed] == ["Fortnox", "brygga", "Lås"]
    assert missing.status_code == 404
    assert sim.exported_document(order_id) == "10002"


# -- hostile knobs and faults -----------------------------------------------------------------


async def test_duplicate_pages_repeat_the_last_row(
    sim: StarwebSimulator, clock: FakeClock, api: Api
) -> None:
    place(sim, clock, 8)
    sim.knobs.duplicate_pages = True
    async with api() as client:
        one = (await client.get("orders")).json()["data"]
        two = (await client.get("orders", params={"page": 2})).json()["data"]
    assert two[0]["orderId"] == one[-1]["orderId"]


async def test_drift_moves_the_next_row_to_the_front(
    sim: StarwebSimulator, clock: FakeClock, api: Api
) -> None:
    place(sim, clock, 8)
    sim.knobs.drift = 1
    params = {"sortBy": "modifiedAt"}
    async with api() as client:
        one = (await client.get("orders", params=params)).json()["data"]
        two = (await client.get("orders", params={**params, "page": 2})).json()["data"]
        again = (await client.get("orders", params=params)).json()["data"]
    assert two[0]["orderId"] == one[-1]["orderId"]  # everything shifted down by one
    assert again[0]["orderId"] not in {o["orderId"] for o in one}
    assert sim.knobs.drift == 0


async def test_faults_apply_to_every_route(sim: StarwebSimulator, api: Api) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    async with api() as client:
        sim.faults.add(Fault("status", status=503, times=1, path="/orders"))
        assert (await client.get("orders")).status_code == 503
        sim.faults.add(Fault("rate_limit", retry_after=7, times=1, path="/products"))
        limited = await client.get("products")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
        sim.faults.add(Fault("commit_then_fail", methods=frozenset({"PUT"}), times=1))
        failed = await client.put(
            f"orders/{order_id}/external-services/brygga", json={"externalIdValue": "5"}
        )
        assert failed.status_code == 500
        sim.faults.add(Fault("timeout", times=1))
        with pytest.raises(httpx.ReadTimeout):
            await client.get("order-statuses")
    assert sim.exported_document(order_id) == "5"
    assert sim.faults.fired == {"status": 1, "rate_limit": 1, "commit_then_fail": 1, "timeout": 1}


# -- catalog ----------------------------------------------------------------------------------


async def test_seed_catalog(sim: StarwebSimulator, api: Api) -> None:
    assert sim.catalog_skus() == [
        "KAFFE-500",
        "MUGG-VIT",
        "TE-100",
        "CHOKLAD-70",
        "BOK-01",
        "TIDNING-12",
        "TROJA-S",
        "TROJA-M",
        "TROJA-L",
    ]
    async with api() as client:
        found = (
            await client.get(
                "products", params={"filterSku": "TROJA-M", "include": "primaryVariant.prices"}
            )
        ).json()["data"]
        (product,) = found
        variants = (
            await client.get(
                f"products/{product['productId']}/variants", params={"include": "prices"}
            )
        ).json()["data"]
    assert product["hasSeveralVariants"] is True
    assert product["defaultVatRate"] == 25
    assert [v["sku"] for v in variants] == ["TROJA-S", "TROJA-M", "TROJA-L"]
    assert variants[1]["prices"]["data"] == [
        {"pricelistId": 1, "priceExVat": 299.0, "specialPriceExVat": None}
    ]


async def test_empty_catalog_option() -> None:
    assert StarwebSimulator(seed_catalog=False).catalog_skus() == []


async def test_prices_and_stock_write_through(
    sim: StarwebSimulator, clock: FakeClock, api: Api
) -> None:
    async with api() as client:
        (product,) = (await client.get("products", params={"filterSku": "TE-100"})).json()["data"]
        pid = product["productId"]
        (variant,) = (await client.get(f"products/{pid}/variants")).json()["data"]
        base = f"products/{pid}/variants/{variant['variantId']}"
        clock.advance(30)
        put = await client.put(
            f"{base}/prices/1", json={"pricelistId": 1, "priceExVat": 42.5, "specialPriceExVat": 39}
        )
        reseller = await client.post(f"{base}/prices", json={"pricelistId": 2, "priceExVat": 30})
        no_price = await client.put(f"{base}/prices/2", json={"specialPriceExVat": 1})
        stock = await client.put(f"{base}/stocks/1", json={"stockStatusId": 2, "stockQuantity": 0})
        half_stock = await client.put(f"{base}/stocks/1", json={"stockQuantity": 3})
        after = (await client.get(f"products/{pid}", params={"include": "primaryVariant"})).json()
        updated = (
            await client.get("products", params={"updatedSince": "2026-02-02T09:00:15+01:00"})
        ).json()["data"]
    assert put.status_code == 200 and put.json()["data"]["specialPriceExVat"] == 39
    assert reseller.status_code == 201
    assert no_price.status_code == 400
    assert stock.status_code == 200
    assert half_stock.status_code == 400
    assert after["data"]["primaryVariant"]["data"]["stockQuantity"] == 0
    assert [p["productId"] for p in updated] == [pid]
    _, _, price = sim.catalog.price_of("TE-100")
    assert price == Decimal(39)


async def test_pricelists_statuses_and_webhooks(api: Api) -> None:
    async with api() as client:
        pricelists = (await client.get("pricelists")).json()["data"]
        statuses = (await client.get("order-statuses")).json()["data"]
        created = await client.post(
            "web-hooks",
            json={"name": "ny", "event": "order-created", "url": "https://brygga.example/h/x"},
        )
        bad = await client.post("web-hooks", json={"event": "order-eaten", "url": "https://x"})
        hook_id = created.json()["data"]["webHookId"]
        patched = await client.patch(f"web-hooks/{hook_id}", json={"event": "order-updated"})
        deleted = await client.delete(f"web-hooks/{hook_id}")
        gone = await client.get(f"web-hooks/{hook_id}")
    assert pricelists[0]["isMaster"] is True and pricelists[0]["currencyCode"] == "SEK"
    assert [s["idCode"] for s in statuses] == ["created", "picking", "completed", "canceled"]
    assert created.status_code == 201
    assert bad.status_code == 400
    assert patched.json()["data"]["event"] == "order-updated"
    assert deleted.status_code == 204
    assert gone.status_code == 404


def test_place_order_refuses_unknown_skus(sim: StarwebSimulator) -> None:
    with pytest.raises(KeyError, match="NOPE"):
        sim.place_order(lines=[("NOPE", 1)], email="a@example.se")


def test_control_surface(sim: StarwebSimulator) -> None:
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se", status="picking")
    assert sim.order_ids() == [order_id]
    assert sim.order_status(order_id) == "picking"
    sim.set_status(order_id, "completed")
    assert sim.order_status(order_id) == "completed"
    assert sim.exported_document(order_id) is None
    config = sim.adapter_config("http://x/api/v2", name="se")
    assert config["kind"] == "starweb" and config["client_secret"] == sim.client_secret
