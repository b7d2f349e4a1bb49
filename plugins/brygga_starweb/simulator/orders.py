"""Order, order-status and customer routes of the Starweb simulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from brygga_starweb.simulator.http import (
    body_json,
    get_bool,
    get_int,
    get_str,
    includes,
    json_response,
    page_of,
    query_datetime,
    query_int,
    require,
)
from brygga_starweb.simulator.records import ApiError
from brygga_starweb.simulator.state import Knobs, OrderState, SimOrder

__all__ = ["order_routes"]

ORDER_INCLUDES = frozenset({"items", "externalServices", "status", "customer", "addresses"})
CUSTOMER_INCLUDES = frozenset({"tags", "externalServices", "addresses"})

#: the sort keys ``sortBy`` names; the spec gives no tie-breaker, so equal keys come in the
#: order ``Knobs.ties`` shuffles them into, per request (by orderId when it is None)
_SORT_KEYS: dict[str, Callable[[SimOrder], Any]] = {
    "orderId": lambda o: o.order_id,
    "createdAt": lambda o: o.created_at,
    "modifiedAt": lambda o: o.modified_at,
    "customer": lambda o: o.email,
    "paymentMethodName": lambda o: o.payment_method,
    "shippingMethodName": lambda o: o.shipping_method,
    "totalAmount": lambda o: o.totals()[0],
    "status": lambda o: o.status_id,
    "read": lambda o: o.is_read,
}

_PATCH_FIELDS = frozenset(
    {
        "statusId",
        "shippingTrackerType",
        "shippingTrackingNo",
        "onOrderStatusChangeSendEmail",
        "onOrderStatusChangeProcessPayment",
        "sendEmailsOnStatusChange",
        "internalComment",
        "isRead",
        "paymentStatus",
    }
)


def _bad(description: str) -> ApiError:
    return ApiError(400, "invalid_request", description)


class OrderApi:
    def __init__(self, state: OrderState, knobs: Knobs) -> None:
        self.state = state
        self.knobs = knobs

    def _order(self, request: Request) -> SimOrder:
        return self.state.order(int(request.path_params["order_id"]))

    def _wire(self, order: SimOrder, wanted: frozenset[str]) -> dict[str, Any]:
        out = order.wire(self.state, wanted)
        mangle = self.knobs.manglers.get(order.order_id)
        if mangle is not None:
            mangle(out)
        return out

    async def list_orders(self, request: Request) -> Response:
        wanted = includes(request, ORDER_INCLUDES)
        sort_by = request.query_params.get("sortBy", "orderId")
        sort_order = request.query_params.get("sortOrder", "DESC").upper()
        if sort_by not in _SORT_KEYS:
            raise _bad(f"sortBy must be one of {', '.join(_SORT_KEYS)}")
        if sort_order not in ("ASC", "DESC"):
            raise _bad("sortOrder must be ASC or DESC")
        after = query_datetime(request, "ordersCreatedAfter")
        before = query_datetime(request, "ordersCreatedBefore")
        status_filter = query_int(request, "statusFilter")
        non_complete = request.query_params.get("includeNonCompletePayments", "false") == "true"
        rows = [
            o
            for o in self.state.orders.values()
            if (non_complete or o.is_complete)
            and (after is None or o.created_at >= after)
            and (before is None or o.created_at < before)
            and (status_filter is None or o.status_id == status_filter)
        ]
        key = _SORT_KEYS[sort_by]
        if self.knobs.ties is None:
            rows.sort(key=lambda o: (key(o), o.order_id), reverse=sort_order == "DESC")
        else:  # a stable sort of a shuffled list: ties in a new order on every request
            self.knobs.ties.shuffle(rows)
            rows.sort(key=key, reverse=sort_order == "DESC")
        size = self.knobs.page_size
        chunk, meta = page_of(rows, request, size, overlap=self.knobs.duplicate_pages)
        data = [self._wire(o, wanted) for o in chunk]
        page = meta["pagination"]["current_page"]
        if self.knobs.drift > 0 and page * size < len(rows):
            self.knobs.drift -= 1
            self.state.touch(rows[page * size])
        if self.knobs.on_orders_page is not None:
            self.knobs.on_orders_page(page)
        return json_response({"data": data, "meta": meta})

    async def get_order(self, request: Request) -> Response:
        order = self._order(request)
        return json_response({"data": self._wire(order, includes(request, ORDER_INCLUDES))})

    async def patch_order(self, request: Request) -> Response:
        order = self._order(request)
        body = await body_json(request)
        if request.method == "PUT":
            require(get_int(body, "statusId"), "statusId")
        unknown = sorted(set(body) - _PATCH_FIELDS)
        if unknown:
            raise _bad(f"{unknown[0]} cannot be written through this API")
        status_id = get_int(body, "statusId")
        status = self.state.status(status_id) if status_id is not None else None
        tracker = get_int(body, "shippingTrackerType")
        tracking_no = get_str(body, "shippingTrackingNo", 50)
        send_email = get_bool(body, "onOrderStatusChangeSendEmail")
        process_payment = get_bool(body, "onOrderStatusChangeProcessPayment")
        sticky = get_bool(body, "sendEmailsOnStatusChange")
        comment = get_str(body, "internalComment", 10_000)
        is_read = get_bool(body, "isRead")
        payment_status = get_str(body, "paymentStatus", 20)
        if sticky is not None:
            self.state.send_emails_on_status_change = sticky
        if tracker is not None:
            order.tracker_type = tracker
        if tracking_no is not None:
            order.tracking_no = tracking_no
        if comment is not None:
            order.internal_comment = comment
        if is_read is not None:
            order.is_read = is_read
        if payment_status is not None:
            order.payment_status = payment_status
        if status is not None and status.status_id != order.status_id:
            self.state.change_status(
                order,
                status,
                send_email=send_email,
                process_payment=True if process_payment is None else process_payment,
            )
        self.state.touch(order)
        return json_response({"data": self._wire(order, frozenset())})

    async def list_items(self, request: Request) -> Response:
        order = self._order(request)
        chunk, meta = page_of([i.wire() for i in order.items], request, self.knobs.page_size)
        return json_response({"data": chunk, "meta": meta})

    async def list_services(self, request: Request) -> Response:
        return json_response({"data": self._order(request).external_services_wire()})

    def _service(self, order: SimOrder, name: str) -> dict[str, Any]:
        value, read_only = order.external_services[name]
        return {"serviceName": name, "externalIdValue": value, "readOnly": read_only}

    async def create_service(self, request: Request) -> Response:
        """``POST /orders/{orderId}/external-services``: 201, or 400 (the only refusal the
        spec documents for it) when the order already has a service of that name."""
        order = self._order(request)
        body = await body_json(request)
        name = require(get_str(body, "serviceName", 40), "serviceName")
        value = require(get_str(body, "externalIdValue", 40), "externalIdValue")
        if name in order.external_services:
            raise _bad(f"Order {order.order_id} already has an external service {name!r}")
        order.external_services[name] = (value, bool(get_bool(body, "readOnly")))
        self.state.touch(order)
        return json_response({"data": self._service(order, name)}, 201)

    async def service(self, request: Request) -> Response:
        """GET, PUT, PATCH and DELETE of one external service: each 404 when the order has
        none of that name (PUT and PATCH update, they do not create: POST does)."""
        order = self._order(request)
        name = request.path_params["service_name"]
        existing = order.external_services.get(name)
        if existing is None:
            raise ApiError(404, "not_found", f"No external service {name!r} on this order")
        if request.method == "GET":
            return json_response({"data": self._service(order, name)})
        if existing[1]:
            raise ApiError(403, "forbidden", f"External service {name!r} is read-only")
        if request.method == "DELETE":
            del order.external_services[name]
            self.state.touch(order)
            return Response(status_code=204)
        body = await body_json(request)
        if get_str(body, "serviceName", 40) not in (None, name):
            raise _bad("serviceName in the body must match the path")
        value = get_str(body, "externalIdValue", 40)
        read_only = get_bool(body, "readOnly")
        if request.method == "PUT":
            value = require(value, "externalIdValue")
            read_only = bool(read_only)
        order.external_services[name] = (
            existing[0] if value is None else value,
            existing[1] if read_only is None else read_only,
        )
        self.state.touch(order)
        return json_response({"data": self._service(order, name)})

    async def list_statuses(self, request: Request) -> Response:
        rows = [s.wire() for s in sorted(self.state.statuses.values(), key=lambda s: s.status_id)]
        chunk, meta = page_of(rows, request, self.knobs.page_size)
        return json_response({"data": chunk, "meta": meta})

    async def get_status(self, request: Request) -> Response:
        status_id = int(request.path_params["status_id"])
        if status_id not in self.state.statuses:
            raise ApiError(404, "not_found", f"Order status {status_id} was not found")
        return json_response({"data": self.state.statuses[status_id].wire()})

    async def list_customers(self, request: Request) -> Response:
        wanted = includes(request, CUSTOMER_INCLUDES)
        created = query_datetime(request, "createdSince")
        updated = query_datetime(request, "updatedSince")
        rows = [
            c
            for c in sorted(self.state.customers.values(), key=lambda c: c.customer_id)
            if (created is None or c.created_at >= created)
            and (updated is None or c.modified_at >= updated)
        ]
        chunk, meta = page_of(rows, request, self.knobs.page_size)
        return json_response({"data": [c.wire(wanted) for c in chunk], "meta": meta})

    async def get_customer(self, request: Request) -> Response:
        customer = self.state.customers.get(int(request.path_params["customer_id"]))
        if customer is None:
            raise ApiError(404, "not_found", "Customer was not found")
        return json_response({"data": customer.wire(includes(request, CUSTOMER_INCLUDES))})


def order_routes(state: OrderState, knobs: Knobs) -> list[Route]:
    api = OrderApi(state, knobs)
    order = "/orders/{order_id:int}"
    return [
        Route("/orders", api.list_orders, methods=["GET"]),
        Route(order, api.get_order, methods=["GET"]),
        Route(order, api.patch_order, methods=["PATCH", "PUT"]),
        Route(f"{order}/items", api.list_items, methods=["GET"]),
        Route(f"{order}/external-services", api.list_services, methods=["GET"]),
        Route(f"{order}/external-services", api.create_service, methods=["POST"]),
        Route(
            order + "/external-services/{service_name}",
            api.service,
            methods=["GET", "PUT", "PATCH", "DELETE"],
        ),
        Route("/order-statuses", api.list_statuses, methods=["GET"]),
        Route("/order-statuses/{status_id:int}", api.get_status, methods=["GET"]),
        Route("/customers", api.list_customers, methods=["GET"]),
        Route("/customers/{customer_id:int}", api.get_customer, methods=["GET"]),
    ]
