"""The Norce simulator speaks the documented APIs (shop-apis.md §4; sources [NO1]-[NO13])."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from norce_support import BASE_URL, bearer

from brygga.clock import FakeClock
from brygga.testing.simulators import Fault
from brygga_norce.simulator import NorceSimulator

pytestmark = pytest.mark.anyio

ORDERS = "/commerce/query/2.0/Orders/Orders"
CONNECT = "/commerce/connect/4.0"
FULL_FALSE = json.dumps({"AccountId": 1, "FullFile": False, "SkuOnhandFieldsThatAreSet": [3]})


def _raw(sim: NorceSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=BASE_URL)


async def test_token_expires_and_a_stale_one_is_401(sim: NorceSimulator, clock: FakeClock) -> None:
    """[NO1] docs.norce.io/api-reference/accessing-apis-with-oauth2-accounts: 3600 s JWT."""
    async with _raw(sim) as client:
        token = await bearer(client, sim)
        headers = {"Authorization": f"Bearer {token}", "ApplicationId": "1"}
        assert (await client.get(ORDERS, headers=headers)).status_code == 200
        clock.advance(3601)
        assert (await client.get(ORDERS, headers=headers)).status_code == 401
        assert (await client.get(ORDERS, headers={"ApplicationId": "1"})).status_code == 401


async def test_wrong_secret_and_wrong_scope_are_refused(sim: NorceSimulator) -> None:
    async with _raw(sim) as client:
        form = {
            "grant_type": "client_credentials",
            "client_id": sim.client_id,
            "client_secret": "nope",
            "scope": sim.environment,
        }
        answer = await client.post("/identity/1.0/connect/token", data=form)
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_client")
        form |= {"client_secret": sim.client_secret, "scope": "prod"}
        answer = await client.post("/identity/1.0/connect/token", data=form)
        assert answer.json()["error"] == "invalid_scope"


async def test_token_endpoint_burst_of_20_then_3_a_minute(
    sim: NorceSimulator, clock: FakeClock
) -> None:
    """[NO1]: 3 requests per minute per IP plus a burst of 20, then 429."""
    async with _raw(sim) as client:
        for _ in range(20):
            await bearer(client, sim)
        answer = await client.post("/identity/1.0/connect/token", data={})
        assert answer.status_code == 429
        clock.advance(20)
        await bearer(client, sim)


async def test_query_orders_page_with_next_link_and_filter(
    sim: NorceSimulator, clock: FakeClock, api: httpx.AsyncClient
) -> None:
    """[NO10] docs.norce.io/api-reference/query/querygeneral: OData v4, @odata.nextLink; the
    rows carry the documented 2.0 fields (docs.norce.io/api-reference/query/queryorders/
    openapi/orders/orders.md: "`QuotationId` (integer) QuotationId. Nullable.", "`OrderNo`
    (string) OrderNo. MaxLength: 50."), keyed by QuotationId = the basket id."""
    refs = []
    for index in range(7):
        refs.append(sim.place_order(lines=[("KAFFE-500", 1)], email=f"k{index}@example.se"))
        clock.advance(10)
    seen: list[int] = []
    url: str | None = ORDERS
    while url:
        answer = await api.get(url, params=None if "?" in url else {"$orderby": "Id"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen += [row["QuotationId"] for row in body["value"]]
        url = body.get("@odata.nextLink")
    assert [str(ref) for ref in seen] == refs
    since = "2026-02-02T08:00:20Z"
    answer = await api.get(
        ORDERS, params={"$filter": f"Created ge {since} and Created lt 2026-02-02T08:00:40Z"}
    )
    assert [str(r["QuotationId"]) for r in answer.json()["value"]] == refs[2:4]
    answer = await api.get(ORDERS, params={"$filter": f"QuotationId eq {refs[1]}"})
    assert [str(r["QuotationId"]) for r in answer.json()["value"]] == [refs[1]]
    answer = await api.get(ORDERS, params={"$filter": "Updated eq null and ApplicationId eq 2"})
    assert answer.json()["value"] == []
    assert (await api.get(ORDERS, params={"$filter": "Nope eq 1"})).status_code == 400
    assert (await api.get(ORDERS, headers={"ApplicationId": ""})).status_code == 400


async def test_query_orders_have_no_basket_id_or_erp_number_field(
    sim: NorceSimulator, api: httpx.AsyncClient
) -> None:
    """The documented Query order has no basket id or ERP number field (docs.norce.io/
    api-reference/query/queryorders/openapi/orders/orders.md lists ``Id``, ``ClientId``,
    ``ApplicationId``, ``QuotationId``, ``OrderNo``, ``OrderDate``, … ``StatusId``); the ERP
    number shows as ``OrderNo`` ("The order number, commonly same as quotation id unless
    overriden from the ERP confirmation response", …/query/openapi/order)."""
    ref = sim.place_order(lines=[("TE-100", 1)], email="q@example.se")
    row = (await api.get(ORDERS)).json()["value"][0]
    assert "BasketId" not in row and "ErpOrderNo" not in row
    assert (row["QuotationId"], row["OrderNo"], row["ApplicationId"]) == (int(ref), ref, 1)
    for name in ("BasketId", "ErpOrderNo"):
        answer = await api.get(ORDERS, params={"$filter": f"{name} eq 1"})
        assert answer.status_code == 400, name
    body = {"ClientOrderRef": int(ref), "ErpOrderNo": "E-7", "OrderStatus": "Confirmed"}
    assert (await api.post(f"{CONNECT}/Order/SendOrderStatus", json=body)).status_code == 200
    row = (await api.get(ORDERS)).json()["value"][0]
    assert (row["QuotationId"], row["OrderNo"]) == (int(ref), "E-7")


async def test_the_next_link_is_spelled_as_documented_and_needs_the_header(
    sim: NorceSimulator, api: httpx.AsyncClient
) -> None:
    """docs.norce.io/api-reference/query/querygeneral shows the nextLink as
    ``…/commerce/Query/2.0/…`` (capital Q), and every Query operation documents
    ``ApplicationId integer required`` (…/query/openapi/order): page 2 without it is 400."""
    for index in range(7):
        sim.place_order(lines=[("TE-100", 1)], email=f"n{index}@example.se")
    link = (await api.get(ORDERS)).json()["@odata.nextLink"]
    assert "/commerce/Query/2.0/Orders/Orders?" in link
    assert (await api.get(link)).status_code == 200
    headers = {"Authorization": api.headers["Authorization"]}
    async with _raw(sim) as bare:
        assert (await bare.get(link, headers=headers)).status_code == 400


async def test_send_order_status_sets_status_and_erp_number(
    sim: NorceSimulator, api: httpx.AsyncClient
) -> None:
    """[NO6] SendOrderStatus {ClientOrderRef, ErpOrderNo, OrderStatus}; [NO4] an
    acknowledgement sets Confirmed."""
    ref = sim.place_order(lines=[("TE-100", 2)], email="a@example.se")
    body = {"ClientOrderRef": int(ref), "ErpOrderNo": "E-1", "OrderStatus": "Acknowledged"}
    assert (await api.post(f"{CONNECT}/Order/SendOrderStatus", json=body)).status_code == 200
    assert (sim.order_status(ref), sim.exported_document(ref)) == ("Confirmed", "E-1")
    body["OrderStatus"] = "Shipped"
    answer = await api.post(f"{CONNECT}/Order/SendOrderStatus", json=body)
    assert answer.status_code == 400 and "Shipped" in answer.json()["Message"]
    answer = await api.post(
        f"{CONNECT}/Order/SendOrderStatus", json={"ClientOrderRef": 1, "OrderStatus": "Delivered"}
    )
    assert answer.status_code == 400


@pytest.mark.parametrize("erp", ["missing", None, ""])
async def test_send_order_status_refuses_no_erp_order_number(
    sim: NorceSimulator, api: httpx.AsyncClient, erp: str | None
) -> None:
    """docs.norce.io/api-reference/connect/orderservice/nc-latest/operation/SendOrderStatus:
    "ErpOrderNo required string, ERP order number. Used for order matching." (the schema
    page's "Either ClientOrderRef or ErpOrderNo must be provided" is laxer; the stricter
    holds): missing, null and empty are 400 and change nothing."""
    ref = sim.place_order(lines=[("TE-100", 2)], email="a@example.se")
    body: dict[str, object] = {"ClientOrderRef": int(ref), "OrderStatus": "Delivered"}
    if erp != "missing":
        body["ErpOrderNo"] = erp
    answer = await api.post(f"{CONNECT}/Order/SendOrderStatus", json=body)
    assert answer.status_code == 400 and "ErpOrderNo" in answer.json()["Message"]
    assert (sim.order_status(ref), sim.status_log(ref)) == ("Created", [])


async def test_sku_rows_carry_ids_and_the_codes_resolve(api: httpx.AsyncClient) -> None:
    """The Query rows carry ids, not the codes Connect imports name: on hand ``warehouseId``,
    ``locationId`` (docs.norce.io/api-reference/query/openapi/schemas/
    clientproductskuonhandinfo), prices ``priceListId``, ``currencyId``, ``priceSale``
    (…/query/openapi/products/products_productskus); a price list's ``Agreement`` is "called
    Code in the admin tool, and in connect" (…/query/openapi/application/
    application_clientsuppliers)."""
    sku = (
        await api.get(
            "/commerce/query/2.0/Products/ProductSkus('TE-100')",
            params={"$expand": "OnHands,PriceLists"},
        )
    ).json()
    onhand, price = sku["OnHands"][0], sku["PriceLists"][0]
    assert {"WarehouseCode", "LocationCode"}.isdisjoint(onhand)
    assert {"PriceListCode", "CurrencyCode"}.isdisjoint(price)
    lists = (
        await api.get(
            "/commerce/query/2.0/Application/ClientPriceLists",
            params={"$filter": "Agreement eq 'SEK-BAS'"},
        )
    ).json()["value"]
    assert [(r["PriceListId"], r["CurrencyId"]) for r in lists] == [
        (price["PriceListId"], price["CurrencyId"])
    ]
    places = (await api.get("/commerce/query/2.0/Application/ClientWarehouses")).json()["value"]
    main = next(w for w in places if w["Code"] == "MAIN")
    a1 = next(loc for loc in main["Locations"] if loc["Code"] == "A1")
    assert (main["WarehouseId"], a1["LocationId"]) == (onhand["WarehouseId"], onhand["LocationId"])


async def _run_job(
    api: httpx.AsyncClient, path: str, header: str, rows: object
) -> dict[str, object]:
    answer = await api.post(
        f"{CONNECT}/Product/{path}", json=rows, headers={"X-StormConnect-Header": header}
    )
    assert answer.status_code == 200, answer.text
    job_id = answer.json()["JobId"]
    first = (await api.get(f"{CONNECT}/Job/Get", params={"id": job_id})).json()
    assert (first["StatusId"], first["IsFinished"]) == (1, False)
    done: dict[str, object] = (await api.get(f"{CONNECT}/Job/Get", params={"id": job_id})).json()
    assert done["IsFinished"] is True
    return done


async def test_import_onhands_is_a_job_applied_when_it_runs(
    sim: NorceSimulator, api: httpx.AsyncClient
) -> None:
    """[NO7] ImportOnhands answers a JobResponse; [NO9] Job/Get until IsFinished; stock for
    an unknown PartNo is ignored."""
    rows = [
        {"PartNo": "KAFFE-500", "WarehouseCode": "MAIN", "LocationCode": "A1", "OnhandValue": 3},
        {"PartNo": "NOPE", "WarehouseCode": "MAIN", "LocationCode": "A1", "OnhandValue": 9},
    ]
    answer = await api.post(
        f"{CONNECT}/Product/ImportOnhands", json=rows, headers={"X-StormConnect-Header": FULL_FALSE}
    )
    assert sim.stock("KAFFE-500") == 10  # accepted, not applied yet
    job_id = answer.json()["JobId"]
    await api.get(f"{CONNECT}/Job/Get", params={"id": job_id})
    done = (await api.get(f"{CONNECT}/Job/Get", params={"id": job_id})).json()
    assert (done["StatusId"], done["IsFinished"]) == (2, True)
    assert sim.stock("KAFFE-500") == 3
    log = (await api.get(f"{CONNECT}/Job/GetLog", params={"id": job_id})).json()
    assert any("NOPE" in row["Message"] and row["SeverityId"] == 2 for row in log)
    assert sim.stock_active("TE-100")


async def test_full_file_deactivates_what_it_omits(
    sim: NorceSimulator, api: httpx.AsyncClient
) -> None:
    """[NO7]: FullFile true deactivates everything not in the payload."""
    header = json.dumps({"AccountId": 1, "FullFile": True, "SkuOnhandFieldsThatAreSet": [3]})
    rows = [{"PartNo": "MUGG-VIT", "WarehouseCode": "MAIN", "LocationCode": "A1", "OnhandValue": 1}]
    await _run_job(api, "ImportOnhands", header, rows)
    assert sim.stock_active("MUGG-VIT") and not sim.stock_active("TE-100")


async def test_price_import_ignores_zero_and_validates_rows(
    sim: NorceSimulator, api: httpx.AsyncClient
) -> None:
    """[NO8]: null or 0 prices are ignored; a row without PartNo fails validation."""
    header = json.dumps({"AccountId": 1, "FullFile": False})
    rows = [
        {"PartNo": "TE-100", "PriceListCode": "SEK-BAS", "PriceSale": 0, "CurrencyCode": "SEK"},
        {"PartNo": "MUGG-VIT", "PriceListCode": "SEK-BAS", "PriceSale": 99.5},
    ]
    await _run_job(api, "ImportSkuPriceLists", header, rows)
    assert sim.price("TE-100") == (Decimal("45.00"), True)
    assert sim.price("MUGG-VIT") == (Decimal("99.5"), True)
    answer = await api.post(
        f"{CONNECT}/Product/ImportSkuPriceLists",
        json=[{"PriceListCode": "SEK-BAS", "PriceSale": 5}],
        headers={"X-StormConnect-Header": header},
    )
    assert answer.json()["ValidationSummary"]["NrOfValidationFailures"] == 1


async def test_a_failed_job_says_so_in_its_log(sim: NorceSimulator, api: httpx.AsyncClient) -> None:
    sim.fail_next_job("Import file is broken")
    header = json.dumps({"AccountId": 1, "FullFile": False})
    rows = [{"PartNo": "MUGG-VIT", "PriceListCode": "SEK-BAS", "PriceSale": 5}]
    done = await _run_job(api, "ImportSkuPriceLists", header, rows)
    assert done["StatusId"] == 3
    log = (await api.get(f"{CONNECT}/Job/GetLog", params={"id": done["JobId"]})).json()
    assert log[0]["SeverityId"] == 3 and "broken" in log[0]["Message"]


async def test_push_is_retried_until_the_receiver_accepts(sim: NorceSimulator) -> None:
    """[NO3]: Norce posts the OrderRequest and retries on failure; Basic auth is sent."""
    answers = iter([500, 200, 200])
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = next(answers)
        if len(seen) == 2:
            return httpx.Response(200, json={"StatusCode": "Failed", "Description": "busy"})
        return httpx.Response(status, text="ok")

    sim.configure_receiver("https://brygga.example/webhooks/x/t", username="u", password="p")
    ref = sim.place_order(lines=[("MUGG-VIT", 1)], email="b@example.se")
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
        assert [a.status for a in await sim.push_pending(client)] == [500]
        assert sim.pending == [int(ref)]
        await sim.push_pending(client)  # 200 with an OrderResponse "Failed": still pending
        assert sim.pending == [int(ref)]
        await sim.push_pending(client)
        assert sim.pending == []
    body = json.loads(seen[0].content)
    assert body["Header"]["ClientOrderRef"] == int(ref)
    assert body["Items"][0]["PartNo"] == "MUGG-VIT"
    assert seen[0].headers["Authorization"].startswith("Basic ")


async def test_faults_are_injected(sim: NorceSimulator, api: httpx.AsyncClient) -> None:
    sim.faults.add(Fault("status", path="Orders", status=503, times=1))
    assert (await api.get(ORDERS)).status_code == 503
    assert (await api.get(ORDERS)).status_code == 200
    assert ("GET", ORDERS) in sim.requests


async def test_cancel_order_and_delivery_notes(sim: NorceSimulator, api: httpx.AsyncClient) -> None:
    """§4.3 [NO6]: CancelOrder matches ClientOrderRef and ErpOrderNo; CreateDeliveryNote."""
    ref = sim.place_order(lines=[("TE-100", 2), ("KAFFE-500", 1)], email="d@example.se")
    body = {"ClientOrderRef": int(ref), "ErpOrderNo": "E-9", "OrderStatus": "Confirmed"}
    await api.post(f"{CONNECT}/Order/SendOrderStatus", json=body)
    note = {"ClientOrderRef": int(ref), "Items": [{"PartNo": "TE-100", "Quantity": 2}]}
    assert (await api.post(f"{CONNECT}/Order/CreateDeliveryNote", json=note)).status_code == 200
    assert sim.order_status(ref) == "PartlyDelivered"
    note["Items"] = [{"PartNo": "KAFFE-500", "Quantity": 1}]
    await api.post(f"{CONNECT}/Order/CreateDeliveryNote", json=note)
    assert sim.order_status(ref) == "Delivered" and len(sim.delivery_notes(ref)) == 2
    other = sim.place_order(lines=[("TE-100", 1)], email="e@example.se")
    cancel = {"ClientOrderRef": int(other), "ErpOrderNo": "nope"}
    assert (await api.post(f"{CONNECT}/Order/CancelOrder", json=cancel)).status_code == 400
    cancel["ErpOrderNo"] = ""
    assert (await api.post(f"{CONNECT}/Order/CancelOrder", json=cancel)).status_code == 200
    assert sim.order_status(other) == "Cancelled"


async def test_events_carry_the_static_headers(sim: NorceSimulator) -> None:
    """[NO12]: events are POSTs of a small JSON body with static custom headers, no signing."""
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    ref = sim.place_order(lines=[("TE-100", 1)], email="f@example.se")
    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
        status = await sim.post_event(
            client, "https://x/e", "OrderReceivedEvent", ref, headers={"X-Secret": "s"}
        )
    assert status == 200
    assert seen[0].headers["X-Secret"] == "s"
    assert json.loads(seen[0].content)["ClientOrderRef"] == ref
