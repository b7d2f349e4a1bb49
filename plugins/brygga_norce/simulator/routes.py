"""The simulated Query (OData v4) and Connect (imports, jobs, order status) endpoints."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from brygga_norce.simulator.http import body_json, json_response
from brygga_norce.simulator.odata import FilterError, parse_filter
from brygga_norce.simulator.records import SEND_STATUSES, ApiError
from brygga_norce.simulator.state import NorceState

__all__ = ["CONNECT", "QUERY", "QUERY_LINK", "api_routes"]

QUERY = "/commerce/query/2.0"
CONNECT = "/commerce/connect/4.0"
#: how the documented example nextLink spells the Query base (docs.norce.io/api-reference/
#: query/querygeneral: ``…/commerce/Query/2.0/…``)
QUERY_LINK = "commerce/Query/2.0"
#: the Query 2.0 order properties ``$filter``/``$orderby`` may name, as documented
#: (PascalCase; OData property names are case-sensitive)
_ORDER_FIELDS = frozenset(
    {
        "Id",
        "ApplicationId",
        "QuotationId",
        "OrderNo",
        "OrderDate",
        "StatusId",
        "Created",
        "Updated",
    }
)
_PRICE_LIST_FIELDS = frozenset({"PriceListId", "Agreement", "CurrencyId", "IsActive"})
_ORDER_EXPAND = frozenset({"Items", "Buyer"})
_SKU_EXPAND = frozenset({"OnHands", "PriceLists"})
_KEY = re.compile(r"^'((?:[^']|'')*)'$")


def _expand(request: Request, allowed: frozenset[str]) -> frozenset[str]:
    raw = request.query_params.get("$expand", "")
    wanted = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = sorted(wanted - allowed)
    if unknown:
        raise ApiError(400, f"Could not find a property named '{unknown[0]}' to expand")
    return wanted


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise ApiError(400, f"{name} must be a non-negative integer")
    return int(raw)


def _application(request: Request) -> int:
    """The ``ApplicationId`` header the Query API wants (docs.norce.io/api-reference/query/
    openapi/order shows ``-H 'ApplicationId: 0'``)."""
    raw = request.headers.get("applicationid", "")
    if not raw.isdigit():
        raise ApiError(400, "The ApplicationId header is missing or not a number")
    return int(raw)


def api_routes(state: NorceState, page_size: int) -> list[Route]:
    """Routes for one simulated client."""

    async def orders(request: Request) -> Response:
        _application(request)
        expand = _expand(request, _ORDER_EXPAND)
        rows = sorted(state.orders.values(), key=lambda o: o.order_id)
        text = request.query_params.get("$filter")
        if text:
            try:
                keep = parse_filter(text, _ORDER_FIELDS)
            except FilterError as exc:
                raise ApiError(400, f"The query specified in the URI is not valid. {exc}") from None
            rows = [o for o in rows if keep(state.filter_row(o))]
        order_by = request.query_params.get("$orderby")
        if order_by:
            names = [part.strip().split(" ")[0] for part in order_by.split(",")]
            if any(name not in _ORDER_FIELDS for name in names):
                raise ApiError(400, f"$orderby names an unknown property: {order_by}")
            rows.sort(
                key=lambda o: tuple(
                    (v is not None, v) for v in (state.filter_row(o)[n] for n in names)
                )
            )
        skip = _int(request, "$skip", 0)
        top = min(_int(request, "$top", page_size), page_size)
        page = rows[skip : skip + top]
        body: dict[str, Any] = {
            "@odata.context": f"{request.base_url}commerce/query/2.0/$metadata#Orders",
            "value": [state.query_order(o, expand) for o in page],
        }
        if skip + top < len(rows):
            params = dict(request.query_params)
            params["$skip"] = str(skip + top)
            if state.next_link_drops_filter:  # a hostile-server knob: the link loses $filter
                params.pop("$filter", None)
            query = urlencode(params, quote_via=quote)
            base = str(request.base_url).rstrip("/")
            if state.next_link_base:  # a hostile-server knob: links that point elsewhere
                base = state.next_link_base
            body["@odata.nextLink"] = f"{base}/{QUERY_LINK}/Orders/Orders?{query}"
        return json_response(body)

    async def product_sku(request: Request) -> Response:
        _application(request)
        match = _KEY.match(request.path_params["key"])
        if match is None:
            raise ApiError(400, "The key must be a quoted string, e.g. ProductSkus('100011')")
        sku = state.skus.get(match.group(1).replace("''", "'"))
        if sku is None:
            raise ApiError(404, f"No ProductSku with PartNo '{match.group(1)}'")
        return json_response(state.product_sku(sku, _expand(request, _SKU_EXPAND)))

    async def client_price_lists(request: Request) -> Response:
        _application(request)
        rows = state.client_price_lists()
        text = request.query_params.get("$filter")
        if text:
            try:
                keep = parse_filter(text, _PRICE_LIST_FIELDS)
            except FilterError as exc:
                raise ApiError(400, f"The query specified in the URI is not valid. {exc}") from None
            rows = [r for r in rows if keep(r)]
        return json_response({"value": rows})

    async def client_warehouses(request: Request) -> Response:
        _application(request)
        return json_response({"value": state.client_warehouses()})

    async def send_order_status(request: Request) -> Response:
        body = await body_json(request)
        if not isinstance(body, dict):
            raise ApiError(400, "The body must be a SendOrderStatusRequest object")
        ref = body.get("ClientOrderRef")
        if type(ref) is not int:
            raise ApiError(400, "ClientOrderRef is required (int32)")
        status = body.get("OrderStatus")
        if status not in SEND_STATUSES:
            raise ApiError(400, f"OrderStatus '{status}' is not a valid value")
        # "ErpOrderNo required string" (nc-latest/operation/SendOrderStatus); the schema page's
        # "Either ClientOrderRef or ErpOrderNo must be provided" is the laxer reading
        erp = body.get("ErpOrderNo")
        if not isinstance(erp, str) or not erp.strip():
            raise ApiError(400, "ErpOrderNo is required")
        state.send_order_status(body)
        return Response(status_code=200)

    async def _order_body(request: Request) -> dict[str, Any]:
        body = await body_json(request)
        if not isinstance(body, dict) or type(body.get("ClientOrderRef")) is not int:
            raise ApiError(400, "ClientOrderRef is required (int32)")
        return body

    async def cancel_order(request: Request) -> Response:
        state.cancel_order(await _order_body(request))
        return Response(status_code=200)

    async def create_delivery_note(request: Request) -> Response:
        state.delivery_note(await _order_body(request))
        return Response(status_code=200)

    async def import_rows(request: Request, kind: str, required: tuple[str, ...]) -> Response:
        raw = request.headers.get("x-stormconnect-header")
        try:
            header = msgspec.json.decode(raw or "") if raw else None
        except msgspec.DecodeError:
            header = None
        if not isinstance(header, dict):
            raise ApiError(400, "The X-StormConnect-Header header must be a JSON object")
        rows = await body_json(request)
        if not isinstance(rows, list):
            raise ApiError(400, "The body must be a JSON array of import items")
        good, messages = [], []
        for index, row in enumerate(rows):
            missing = [
                name
                for name in required
                if not isinstance(row, dict) or not isinstance(row.get(name), str) or not row[name]
            ]
            if missing:
                messages.append(f"Item {index}: {', '.join(missing)} is required")
            else:
                good.append(row)
        job = state.submit_job(kind, header, good)
        return json_response(
            {
                "StatusCode": "OK",
                "Description": "Job created",
                "JobId": str(job.job_id),
                "ValidationSummary": {
                    "NrOfItemsInTotal": len(rows),
                    "NrOfValidationFailures": len(messages),
                    "Messages": messages,
                },
            }
        )

    async def import_onhands(request: Request) -> Response:
        return await import_rows(request, "onhands", ("PartNo", "WarehouseCode", "LocationCode"))

    async def import_prices(request: Request) -> Response:
        return await import_rows(request, "prices", ("PartNo", "PriceListCode"))

    def _job_id(request: Request) -> int:
        raw = request.query_params.get("id", "")
        if not raw.isdigit():
            raise ApiError(400, "id is required (int32)")
        return int(raw)

    async def job_get(request: Request) -> Response:
        return json_response(state.job_dto(state.poll_job(_job_id(request))))

    async def job_log(request: Request) -> Response:
        job = state.jobs.get(_job_id(request))
        if job is None:
            raise ApiError(404, "Job not found")
        return json_response(job.log)

    return [
        Route(f"{QUERY}/Orders/Orders", orders, methods=["GET"]),
        Route(f"{QUERY}/Products/ProductSkus({{key:path}})", product_sku, methods=["GET"]),
        Route(f"{QUERY}/Application/ClientPriceLists", client_price_lists, methods=["GET"]),
        Route(f"{QUERY}/Application/ClientWarehouses", client_warehouses, methods=["GET"]),
        Route(f"{CONNECT}/Order/SendOrderStatus", send_order_status, methods=["POST"]),
        Route(f"{CONNECT}/Order/CancelOrder", cancel_order, methods=["POST"]),
        Route(f"{CONNECT}/Order/CreateDeliveryNote", create_delivery_note, methods=["POST"]),
        Route(f"{CONNECT}/Product/ImportOnhands", import_onhands, methods=["POST"]),
        Route(f"{CONNECT}/Product/ImportSkuPriceLists", import_prices, methods=["POST"]),
        Route(f"{CONNECT}/Job/Get", job_get, methods=["GET"]),
        Route(f"{CONNECT}/Job/GetLog", job_log, methods=["GET"]),
    ]


def money(value: Any) -> Decimal:
    """A JSON number as Decimal (the import bodies' prices and quantities)."""
    return Decimal(str(value))
