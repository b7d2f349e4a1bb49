"""The Starweb simulator's writes, hostile knobs, faults and catalog."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from starweb_support import Api, place_orders

from brygga.clock import FakeClock
from brygga.testing import Fault
from brygga_starweb.simulator import StarwebSimulator

pytestmark = pytest.mark.anyio


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


async def test_external_services_create_update_and_read_only(
    sim: StarwebSimulator, api: Api
) -> None:
    # spec (Order External Services): POST creates (201, 400 its one documented refusal);
    # PUT and PATCH on /{serviceName} update (200) and are 404 for a missing service
    order_id = sim.place_order(lines=[("TE-100", 1)], email="a@example.se")
    base = f"orders/{order_id}/external-services"
    async with api() as client:
        created = await client.post(base, json={"serviceName": "Fortnox", "externalIdValue": "7"})
        duplicate = await client.post(base, json={"serviceName": "Fortnox", "externalIdValue": "8"})
        put_missing = await client.put(f"{base}/brygga", json={"externalIdValue": "10001"})
        patch_missing = await client.patch(f"{base}/brygga", json={"externalIdValue": "10001"})
        ours = await client.post(base, json={"serviceName": "brygga", "externalIdValue": "10001"})
        put_old = await client.put(f"{base}/brygga", json={"externalIdValue": "10002"})
        patched = await client.patch(f"{base}/Fortnox", json={"externalIdValue": "9"})
        read_only = await client.post(
            base, json={"serviceName": "Lås", "externalIdValue": "1", "readOnly": True}
        )
        locked = await client.put(f"{base}/Lås", json={"externalIdValue": "2"})
        listed = (await client.get(base)).json()["data"]
        missing = await client.get(f"{base}/nope")
    assert created.status_code == 201
    assert duplicate.status_code == 400 and duplicate.json()["error_description"]
    assert (put_missing.status_code, patch_missing.status_code) == (404, 404)
    assert put_missing.json()["error"] == "not_found"
    assert (ours.status_code, put_old.status_code, patched.status_code) == (201, 200, 200)
    assert put_old.json()["data"] == {
        "serviceName": "brygga",
        "externalIdValue": "10002",
        "readOnly": False,
    }
    assert read_only.status_code == 201
    assert locked.status_code == 403 and locked.json()["error"] == "forbidden"
    assert [s["serviceName"] for s in listed] == ["Fortnox", "brygga", "Lås"]
    assert missing.status_code == 404
    assert sim.exported_document(order_id) == "10002"
    assert sim.exported_document(order_id, "Fortnox") == "9"


# -- hostile knobs and faults -----------------------------------------------------------------


async def test_duplicate_pages_repeat_the_last_row(
    sim: StarwebSimulator, clock: FakeClock, api: Api
) -> None:
    place_orders(sim, clock, 8)
    sim.knobs.duplicate_pages = True
    async with api() as client:
        one = (await client.get("orders")).json()["data"]
        two = (await client.get("orders", params={"page": 2})).json()["data"]
    assert two[0]["orderId"] == one[-1]["orderId"]


async def test_drift_moves_the_next_row_to_the_front(
    sim: StarwebSimulator, clock: FakeClock, api: Api
) -> None:
    place_orders(sim, clock, 8)
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
        post = frozenset({"POST"})
        sim.faults.add(Fault("commit_then_fail", methods=post, path="/external", times=1))
        failed = await client.post(
            f"orders/{order_id}/external-services",
            json={"serviceName": "brygga", "externalIdValue": "5"},
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
    assert product["defaultVatRate"] == "25"  # the spec types defaultVatRate as a string
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
