"""Routes of the e-conomic simulator: customers, products, documents and reference data."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from brygga_economic.simulator.documents import Documents, StoredDocument
from brygga_economic.simulator.errors import Annotations, ApiError, error_body
from brygga_economic.simulator.http import (
    FILTERABLE,
    SORTABLE,
    Lookup,
    SortedRows,
    json_response,
    paginate,
)
from brygga_economic.simulator.pricing import pricing_routes
from brygga_economic.simulator.state import SimState
from brygga_economic.simulator.wire import decode_id

__all__ = ["build_app"]

_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_json = json_response


def build_app(state: SimState, documents: Documents, *, page_size_max: int) -> Starlette:
    """The routed Starlette app over ``state`` and ``documents`` (auth lives in gate)."""

    def fail(status: int, message: str, hint: str = "") -> ApiError:
        return ApiError(status, error_body(status, message, hint, state.clock.now()))

    async def read_body(request: Request) -> Any:
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith("application/json"):
            raise fail(415, "Unsupported media type.", "Send Content-Type: application/json.")
        try:
            return _DECODER.decode(await request.body())
        except msgspec.DecodeError:
            raise fail(400, "The request body is not valid JSON.") from None

    def paged(
        request: Request,
        items: Sequence[Mapping[str, Any]],
        filterable: Collection[str],
        lookup: Lookup | None = None,
        sortable: Collection[str] | None = None,
    ) -> Any:
        return paginate(
            request,
            items,
            filterable,
            page_size_max=page_size_max,
            fail=fail,
            lookup=lookup,
            sortable=sortable,
        )

    def customer_lookup(prop: str, op: str, value: str) -> list[Mapping[str, Any]] | None:
        index = state.customer_indexes.get(prop)
        return index.candidates(state.customers, value, op) if index is not None else None

    def reference_routes(path: str, table: dict[Any, dict[str, Any]], key: str) -> list[Route]:
        filterable = frozenset({key, "name"})

        async def listing(request: Request) -> Response:
            return _json(paged(request, list(table.values()), filterable), request)

        async def item(request: Request) -> Response:
            raw = request.path_params["id"]
            ident: Any = (
                int(raw) if raw.isdigit() and isinstance(next(iter(table), 0), int) else raw
            )
            if isinstance(ident, str):
                ident = decode_id(ident)
            if ident not in table:
                raise fail(404, f"No {path.strip('/')} with id {raw}.")
            return _json(table[ident], request)

        return [Route(path, listing, methods=["GET"]), Route(path + "/{id}", item, methods=["GET"])]

    # --- customers and products ------------------------------------------------------------

    async def customers(request: Request) -> Response:
        if request.method == "POST":
            customer = state.create_customer(await read_body(request), Annotations())
            location = f"{request.base_url}customers/{customer['customerNumber']}"
            return _json(customer, request, 201, {"Location": location})
        items = SortedRows(state.customers)
        return _json(paged(request, items, FILTERABLE["customers"], customer_lookup), request)

    async def customer(request: Request) -> Response:
        number = request.path_params["number"]
        if number not in state.customers:
            raise fail(404, f"Customer {number} not found.")
        return _json(state.customers[number], request)

    async def products(request: Request) -> Response:
        if request.method == "POST":
            body = await read_body(request)
            if not isinstance(body, dict):
                raise fail(400, "The request body must be a JSON object.")
            product = state.put_product(body, Annotations(), creating=True)
            return _json(
                product,
                request,
                201,
                {"Location": str(request.base_url).rstrip("/") + product["self"]},
            )
        items = [state.products[n] for n in sorted(state.products)]
        return _json(
            paged(request, items, FILTERABLE["products"], sortable=SORTABLE["products"]), request
        )

    async def product(request: Request) -> Response:
        number = decode_id(request.path_params["number"])
        if request.method == "PUT":
            body = await read_body(request)
            if not isinstance(body, dict):
                raise fail(400, "The request body must be a JSON object.")
            if body.get("productNumber", number) != number:
                raise fail(400, "productNumber in the body must match the URL.")
            created = number not in state.products
            saved = state.put_product(
                {**body, "productNumber": number}, Annotations(), creating=False
            )
            return _json(saved, request, 201 if created else 200)
        if number not in state.products:
            raise fail(404, f"Product {number} not found.")
        return _json(state.products[number], request)

    # --- the VAT chain: product group -> sales account per VAT zone -> account -> VAT code ---

    def group_number(request: Request) -> int:
        number: int = request.path_params["number"]
        if number not in state.product_groups:
            raise fail(404, f"Product group {number} not found.")
        return number

    async def group_sales_accounts(request: Request) -> Response:
        rows = state.sales_account_rows(group_number(request))
        return _json(paged(request, rows, frozenset()), request)

    async def group_products(request: Request) -> Response:
        number = group_number(request)
        items = [
            state.products[n]
            for n in sorted(state.products)
            if state.products[n]["productGroup"]["productGroupNumber"] == number
        ]
        return _json(paged(request, items, FILTERABLE["products"]), request)

    # --- documents -------------------------------------------------------------------------

    def document_routes(
        path: str,
        store: dict[int, StoredDocument],
        create: Callable[[Any], StoredDocument] | None,
        *,
        deletable: bool,
        number_key: str = "",
        view: Callable[[StoredDocument], bool] | None = None,
    ) -> list[Route]:
        """GET (and POST with ``create``) on the collection, GET (and DELETE when
        ``deletable``) on its items. A DELETE answers the documented status message naming
        ``number_key`` (invoices), or 204 without one (orders). ``view``: a read-only view of
        ``store`` (``/invoices/paid``), only its items are listed."""
        filterable = FILTERABLE[path.strip("/")]

        async def listing(request: Request) -> Response:
            if request.method == "POST":
                assert create is not None
                if state.inventory_module and path.startswith("/orders"):
                    # documented: the orders API is not supported with the inventory module
                    # (the real answer is unknown; a 400 with a hint stands in)
                    raise fail(
                        400,
                        "The orders API is not supported for agreements with the inventory module.",
                        "Use invoices (/invoices/drafts) on this agreement.",
                    )
                document = create(await read_body(request))
                location = str(request.base_url).rstrip("/") + document.body["self"]
                return _json(document.body, request, 201, {"Location": location})
            items = [store[n].body for n in sorted(store) if view is None or view(store[n])]
            return _json(paged(request, items, filterable), request)

        async def item(request: Request) -> Response:
            number = request.path_params["number"]
            if number not in store or (view is not None and not view(store[number])):
                raise fail(404, f"No document {number} in {path}.")
            if request.method == "DELETE":
                document = store.pop(number)
                if not number_key:
                    return Response(status_code=204)
                return _json(
                    {
                        "message": "Deleted invoice.",
                        "deletedCount": 1,
                        "deletedItems": [{number_key: number, "self": document.body["self"]}],
                    },
                    request,
                )
            return _json(store[number].body, request)

        methods = ["GET", "POST"] if create else ["GET"]
        item_methods = ["GET", "DELETE"] if deletable else ["GET"]
        return [
            Route(path, listing, methods=methods),
            Route(path + "/{number:int}", item, methods=item_methods),
        ]

    async def root(request: Request) -> Response:
        names = [
            "customers",
            "products",
            "invoices",
            "orders",
            "layouts",
            "payment-terms",
            "vat-zones",
            "customer-groups",
            "product-groups",
            "accounts",
            "vat-accounts",
            "units",
            "currencies",
            "self",
        ]
        return _json({name: f"/{name}" for name in names} | {"self": "/"}, request)

    async def agreement(request: Request) -> Response:
        return _json(
            {
                "agreementNumber": 123456,
                "company": {"name": "Kaffebryggan AB", "companyIdentificationNumber": ""},
                "userName": "brygga-simulator",
                "application": {"name": "brygga", "appNumber": 1},
                "self": "/self",
            },
            request,
        )

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return _json(exc.body, request, exc.status)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = "Not found." if exc.status_code == 404 else str(exc.detail)
        return _json(
            error_body(
                exc.status_code, message, "Use the links the API provides.", state.clock.now()
            ),
            request,
            exc.status_code,
            dict(exc.headers or {}),
        )

    routes = [
        Route("/", root, methods=["GET"]),
        Route("/self", agreement, methods=["GET"]),
        Route("/customers", customers, methods=["GET", "POST"]),
        Route("/customers/{number:int}", customer, methods=["GET"]),
        Route("/products", products, methods=["GET", "POST"]),
        Route("/products/{number}", product, methods=["GET", "PUT"]),
        *pricing_routes(state, fail, read_body),
        *document_routes(
            "/invoices/drafts",
            documents.draft_invoices,
            documents.create_draft_invoice,
            deletable=True,
            number_key="draftInvoiceNumber",
        ),
        *document_routes(
            "/invoices/booked", documents.booked_invoices, documents.book, deletable=False
        ),
        # the documented payment views of the booked invoices
        *document_routes(
            "/invoices/paid",
            documents.booked_invoices,
            None,
            deletable=False,
            view=lambda invoice: invoice.body.get("remainder") == 0,
        ),
        *document_routes(
            "/invoices/unpaid",
            documents.booked_invoices,
            None,
            deletable=False,
            view=lambda invoice: invoice.body.get("remainder") != 0,
        ),
        *document_routes(
            "/orders/drafts",
            documents.draft_orders,
            documents.create_draft_order,
            deletable=True,
        ),
        *document_routes(
            "/orders/sent", documents.sent_orders, documents.send_order, deletable=True
        ),
        *document_routes("/orders/archived", documents.archived_orders, None, deletable=False),
        *reference_routes("/layouts", state.layouts, "layoutNumber"),
        *reference_routes("/payment-terms", state.payment_terms, "paymentTermsNumber"),
        *reference_routes("/vat-zones", state.vat_zones, "vatZoneNumber"),
        *reference_routes("/customer-groups", state.customer_groups, "customerGroupNumber"),
        *reference_routes("/product-groups", state.product_groups, "productGroupNumber"),
        Route("/product-groups/{number:int}/sales-accounts", group_sales_accounts, methods=["GET"]),
        Route("/product-groups/{number:int}/products", group_products, methods=["GET"]),
        *reference_routes("/accounts", state.accounts, "accountNumber"),
        *reference_routes("/vat-accounts", state.vat_accounts, "vatCode"),
        *reference_routes("/units", state.units, "unitNumber"),
        *reference_routes("/currencies", state.currencies, "code"),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_error},
    )
