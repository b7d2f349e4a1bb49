"""The Specter simulator's HTTP side: the key check, the request log and the modelled routes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from brygga.testing.simjson import Refusal, contains, handled, json_object, number, time_window
from brygga.testing.simulators import Asgi, Receive, Scope, Send
from brygga_specter.simulator.state import VAT_RATES, SimState
from brygga_specter.simulator.wire import error, json_response

__all__ = ["Gate", "build_app"]

MAX_PAGE_SIZE = 500


class Gate:
    """ASGI middleware: every request is logged, then refused with 401 unless it carries
    the three credential headers (``ApiUserKey``, ``IntegrationKey``, ``SbmId``)."""

    def __init__(self, app: Asgi, credentials: Mapping[str, str]) -> None:
        self.app = app
        self.credentials = {k.lower().encode(): v.encode() for k, v in credentials.items()}
        self.requests: list[tuple[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.requests.append((scope["method"], scope["path"]))
        headers = dict(scope.get("headers", []))
        if any(headers.get(k) != v for k, v in self.credentials.items()):
            response = error(401, "Unauthorized", "Unknown ApiUserKey, IntegrationKey or SbmId")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BadRequest(Refusal):
    def __init__(self, code: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.response = error(400, code, message, field)


def _paged(request: Request, rows: list[dict[str, Any]]) -> Response:
    try:
        page = int(request.query_params.get("Page", "1"))
        size = int(request.query_params.get("PageSize", "100"))
    except ValueError:
        raise BadRequest("InvalidPaging", "Page and PageSize must be whole numbers") from None
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest("InvalidPaging", f"Page >= 1 and PageSize 1-{MAX_PAGE_SIZE}")
    total = max(1, -(-len(rows) // size))
    return json_response(
        {"Data": rows[(page - 1) * size : page * size], "Page": page, "TotalPages": total}
    )


def _window(
    request: Request, key: str, rows: Iterable[dict[str, Any]], prefix: str
) -> list[dict[str, Any]]:
    return time_window(
        request,
        (prefix + "From", prefix + "To"),
        key,
        rows,
        lambda name: BadRequest("InvalidDate", f"{name} is not an ISO 8601 time"),
    )


def _number(value: Any, field: str) -> Decimal:
    found = number(value)
    if found is None:
        raise BadRequest("InvalidValue", f"{field} must be a number", field)
    return found


def build_app(state: SimState) -> Starlette:
    """The routed app over ``state`` (the key check lives in :class:`Gate`)."""

    async def body_of(request: Request) -> dict[str, Any]:
        body = await json_object(request)
        if body is None:
            raise BadRequest("InvalidJson", "The request body must be a JSON object")
        return body

    async def list_customers(request: Request) -> Response:
        rows = list(state.customers.values())
        for param in ("EmailAddress", "OrgNo"):
            if param in request.query_params:
                wanted = request.query_params[param]
                rows = [c for c in rows if contains(c.get(param), wanted)]
        return _paged(request, rows)

    async def get_customer(request: Request) -> Response:
        customer = state.customers.get(request.path_params["id"])
        if customer is None:
            return error(404, "NotFound", "No such customer")
        return json_response(customer)

    async def create_customer(request: Request) -> Response:
        body = await body_of(request)
        for field, limit in (("Name", 100), ("EmailAddress", 100)):
            value = body.get(field)
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                raise BadRequest("Required", f"{field} is required (at most {limit})", field)
        keys = []
        if not body.get("IgnoreControlEmail"):
            keys.append("EmailAddress")
        if not body.get("IgnoreControlOrgNo") and str(body.get("OrgNo") or "").strip():
            keys.append("OrgNo")
        for key in keys:  # Specter's own matching: e-mail first, then OrgNo (§3.2)
            wanted = str(body[key]).strip().casefold()
            for customer in state.customers.values():
                if str(customer.get(key) or "").strip().casefold() == wanted:
                    if body.get("ForceCustomerUpdate"):
                        customer.update(
                            {k: v for k, v in body.items() if not k.startswith(("Ignore", "Force"))}
                        )
                    return json_response(customer)
        return json_response(state.new_customer(body), 201)

    async def list_items(request: Request) -> Response:
        rows = sorted(state.items.values(), key=lambda i: (i["Modified"], i["ItemCode"]))
        if "ParentItemCode" in request.query_params:  # a product's variants (modelled, the
            wanted = request.query_params["ParentItemCode"]  # worst case: "contains")
            rows = [i for i in rows if contains(i.get("ParentItemCode"), wanted)]
        return _paged(request, _window(request, "Modified", rows, "Modified"))

    async def get_item(request: Request) -> Response:
        item = state.items.get(request.path_params["code"])
        if item is None:
            return error(404, "NotFound", "No such item")
        return json_response(item)

    async def stock_changes(request: Request) -> Response:
        return _paged(request, _window(request, "Changed", state.stock_changes, "Changed"))

    async def cancel(request: Request) -> Response:
        kind = request.path_params["kind"]
        table = state.orders if kind == "orders" else state.invoices
        stored = table.get(request.path_params["no"])
        if stored is None:
            return error(404, "NotFound", "No such document")
        cancellable = "Registered" if kind == "orders" else "Preliminary"
        if stored.data["Status"] not in (cancellable, "Cancelled"):
            return error(
                400,
                "NotCancellable",
                f"A document in status {stored.data['Status']} cannot be cancelled",
                "Status",
            )
        stored.data["Status"] = "Cancelled"
        return json_response(stored.data)

    def documents(kind: str) -> tuple[Callable[[Request], Any], Callable[[Request], Any]]:
        table = state.orders if kind == "order" else state.invoices
        numbers_param = "OrderNos" if kind == "order" else "InvoiceNos"

        async def listing(request: Request) -> Response:
            rows = [d.data for d in table.values()]
            if "ExternalOrderNo" in request.query_params:
                wanted = request.query_params["ExternalOrderNo"]
                rows = [d for d in rows if contains(d["ExternalOrderNo"], wanted)]
            if numbers_param in request.query_params:
                wanted_numbers = set(request.query_params[numbers_param].split(","))
                key = "OrderNo" if kind == "order" else "InvoiceNo"
                rows = [d for d in rows if d[key] in wanted_numbers]
            return _paged(request, rows)

        async def create(request: Request) -> Response:
            body = await body_of(request)
            if str(body.get("CustomerId", "")) not in state.customers:
                raise BadRequest(
                    "CustomerNotFound", "No customer with this CustomerId", "CustomerId"
                )
            reference = body.get("ExternalOrderNo")
            if not isinstance(reference, str) or not reference.strip():
                raise BadRequest("Required", "ExternalOrderNo is required", "ExternalOrderNo")
            rows = body.get("Rows")
            if not isinstance(rows, list) or not rows:
                raise BadRequest("Required", "Rows must hold at least one row", "Rows")
            for index, row in enumerate(rows):
                where = f"Rows[{index}]"
                if not isinstance(row, dict) or row.get("ItemCode") not in state.items:
                    code = row.get("ItemCode") if isinstance(row, dict) else None
                    raise BadRequest("ItemNotFound", f"Item {code} not found", f"{where}.ItemCode")
                for field in ("Quantity", "PriceExVat", "VatPercentage"):
                    row[field] = _number(row.get(field), f"{where}.{field}")
                if row["VatPercentage"] not in VAT_RATES:
                    raise BadRequest("InvalidVat", "Unknown VAT rate", f"{where}.VatPercentage")
            return json_response(state.new_document(kind, body).data, 201)

        return listing, create

    order_list, order_create = documents("order")
    invoice_list, invoice_create = documents("invoice")
    routes = [
        Route("/customers", handled(list_customers), methods=["GET"]),
        Route("/customers", handled(create_customer), methods=["POST"]),
        Route("/customers/{id}", handled(get_customer), methods=["GET"]),
        Route("/items", handled(list_items), methods=["GET"]),
        Route("/items/{code:path}", handled(get_item), methods=["GET"]),
        Route("/stockchanges", handled(stock_changes), methods=["GET"]),
        Route("/orders", handled(order_list), methods=["GET"]),
        Route("/orders", handled(order_create), methods=["POST"]),
        Route("/invoices", handled(invoice_list), methods=["GET"]),
        Route("/invoices", handled(invoice_create), methods=["POST"]),
        Route("/{kind:str}/{no:str}/cancel", handled(cancel), methods=["POST"]),
    ]
    return Starlette(routes=routes)
