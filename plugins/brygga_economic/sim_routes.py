"""HTTP surface of the e-conomic simulator: auth, rate limit, paging, filters and the routes."""

from __future__ import annotations

import collections
import hmac
import math
from collections.abc import Awaitable, Callable, Collection
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from brygga_economic.sim_documents import Documents, StoredDocument
from brygga_economic.sim_errors import Annotations, ApiError, error_body
from brygga_economic.sim_filter import FilterError, parse_filter
from brygga_economic.sim_state import SimState
from brygga_economic.wire import decode_product_number, encode_json

__all__ = ["Gate", "build_app"]

Scope = collections.abc.MutableMapping[str, Any]
Asgi = Callable[[Scope, Any, Any], Awaitable[None]]
Handler = Callable[[Request], Awaitable[Response]]

_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_LINK_KEYS = frozenset({"self", "download", "products"})

_DOCUMENT_FILTERS = frozenset(
    {
        "references.other",
        "customer.customerNumber",
        "date",
        "currency",
        "recipient.name",
        "notes.heading",
        "netAmount",
        "grossAmount",
        "dueDate",
    }
)
FILTERABLE: dict[str, frozenset[str]] = {
    "customers": frozenset(
        {
            "address",
            "balance",
            "barred",
            "city",
            "corporateIdentificationNumber",
            "country",
            "creditLimit",
            "currency",
            "customerNumber",
            "ean",
            "email",
            "lastUpdated",
            "name",
            "publicEntryNumber",
            "telephoneAndFaxNumber",
            "vatNumber",
            "website",
            "zip",
        }
    ),
    "products": frozenset(
        {
            "productNumber",
            "name",
            "description",
            "barCode",
            "barred",
            "salesPrice",
            "costPrice",
            "recommendedPrice",
            "lastUpdated",
            "productGroup.productGroupNumber",
        }
    ),
    "invoices/drafts": _DOCUMENT_FILTERS | {"draftInvoiceNumber"},
    "invoices/booked": _DOCUMENT_FILTERS | {"bookedInvoiceNumber", "remainder"},
    "orders/drafts": _DOCUMENT_FILTERS | {"orderNumber"},
    "orders/sent": _DOCUMENT_FILTERS | {"orderNumber"},
}


def _render(value: Any, base: str) -> Any:
    """A copy of a resource with relative links made absolute."""
    if isinstance(value, dict):
        return {
            key: (
                base + item
                if key in _LINK_KEYS and isinstance(item, str) and item.startswith("/")
                else _render(item, base)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_render(item, base) for item in value]
    return value


def _json(
    obj: Any, request: Request, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    base = str(request.base_url).rstrip("/")
    return Response(
        encode_json(_render(obj, base)),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


class Gate:
    """ASGI middleware: the two token headers, then the optional per-agreement rate limit."""

    def __init__(
        self,
        app: Asgi,
        state: SimState,
        *,
        app_secret_token: str,
        agreement_grant_token: str,
        rate_limit: tuple[int, float] | None,
    ) -> None:
        self.app = app
        self.state = state
        self.app_secret_token = app_secret_token.encode()
        self.agreement_grant_token = agreement_grant_token.encode()
        self.rate_limit = rate_limit
        self.starts: collections.deque[float] = collections.deque()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        secret = headers.get(b"x-appsecrettoken")
        grant = headers.get(b"x-agreementgranttoken")
        if secret is None or grant is None:
            await self._refuse(
                send,
                401,
                "Unauthorized access (401): the X-AppSecretToken "
                "and X-AgreementGrantToken headers are required.",
            )
            return
        if not (
            hmac.compare_digest(secret, self.app_secret_token)
            and hmac.compare_digest(grant, self.agreement_grant_token)
        ):
            await self._refuse(
                send,
                401,
                "Unauthorized access (401): the X-AppSecretToken or "
                "X-AgreementGrantToken is not valid, or the grant was revoked.",
            )
            return
        retry_after = self._throttle()
        if retry_after is not None:
            await self._refuse(
                send, 429, "Too many requests.", [(b"retry-after", str(retry_after).encode())]
            )
            return
        await self.app(scope, receive, send)

    def _throttle(self) -> int | None:
        """Seconds to wait when the window is full (sliding window), else None."""
        if self.rate_limit is None:
            return None
        requests, window = self.rate_limit
        now = self.state.clock.monotonic()
        while self.starts and self.starts[0] <= now - window:
            self.starts.popleft()
        if len(self.starts) >= requests:
            return max(1, math.ceil(self.starts[0] + window - now))
        self.starts.append(now)
        return None

    async def _refuse(
        self,
        send: Any,
        status: int,
        message: str,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        hint = (
            "Send valid X-AppSecretToken and X-AgreementGrantToken headers."
            if status == 401
            else "Slow down and retry after the number of seconds in Retry-After."
        )
        code = "E00500" if status == 401 else "E00429"
        body = encode_json(
            error_body(status, message, hint, self.state.clock.now(), error_code=code)
        )
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), *(extra or [])],
            }
        )
        await send({"type": "http.response.body", "body": body})


def build_app(state: SimState, documents: Documents, *, page_size_max: int) -> Starlette:
    """The routed Starlette app over ``state`` and ``documents`` (no auth; see :class:`Gate`)."""

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

    def paged(request: Request, items: list[dict[str, Any]], filterable: Collection[str]) -> Any:
        query = request.query_params
        try:
            skip = int(query.get("skippages", "0"))
            size = int(query.get("pagesize", "20"))
        except ValueError:
            raise fail(400, "skippages and pagesize must be integers.") from None
        if skip < 0 or size < 1:
            raise fail(400, "skippages must be 0 or more and pagesize 1 or more.")
        if size > page_size_max:
            raise fail(
                400,
                f"pagesize cannot be larger than {page_size_max}.",
                "See pagination.maxPageSizeAllowed.",
            )
        total = len(items)
        text = query.get("filter")
        if text is not None:
            try:
                predicate = parse_filter(text, filterable)
            except FilterError as exc:
                raise fail(400, str(exc), "See the filtering section of the docs.") from None
            items = [item for item in items if predicate(item)]
        base = str(request.base_url).rstrip("/") + request.url.path

        def link(page: int) -> str:
            params: dict[str, Any] = {"skippages": page, "pagesize": size}
            if text is not None:
                params["filter"] = text
            return f"{base}?{urlencode(params)}"

        last = max(0, math.ceil(len(items) / size) - 1)
        pagination: dict[str, Any] = {
            "skipPages": skip,
            "pageSize": size,
            "maxPageSizeAllowed": page_size_max,
            "results": len(items),
            "resultsWithoutFilter": total,
            "firstPage": link(0),
        }
        if skip < last:
            pagination["nextPage"] = link(skip + 1)
        pagination["lastPage"] = link(last)
        return {
            "collection": items[skip * size : (skip + 1) * size],
            "pagination": pagination,
            "self": str(request.url),
        }

    def reference_routes(path: str, table: dict[Any, dict[str, Any]], key: str) -> list[Route]:
        filterable = frozenset({key, "name"})

        async def listing(request: Request) -> Response:
            return _json(paged(request, list(table.values()), filterable), request)

        async def item(request: Request) -> Response:
            raw = request.path_params["id"]
            ident: Any = (
                int(raw) if raw.isdigit() and isinstance(next(iter(table), 0), int) else raw
            )
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
        items = [state.customers[n] for n in sorted(state.customers)]
        return _json(paged(request, items, FILTERABLE["customers"]), request)

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
        return _json(paged(request, items, FILTERABLE["products"]), request)

    async def product(request: Request) -> Response:
        number = decode_product_number(request.path_params["number"])
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

    # --- documents -------------------------------------------------------------------------

    def document_routes(
        path: str,
        store: dict[int, StoredDocument],
        create: Callable[[Any], StoredDocument] | None,
        *,
        deletable: bool,
    ) -> list[Route]:
        filterable = FILTERABLE[path.strip("/")]

        async def listing(request: Request) -> Response:
            if request.method == "POST":
                assert create is not None
                document = create(await read_body(request))
                location = str(request.base_url).rstrip("/") + document.body["self"]
                return _json(document.body, request, 201, {"Location": location})
            items = [store[n].body for n in sorted(store)]
            return _json(paged(request, items, filterable), request)

        async def item(request: Request) -> Response:
            number = request.path_params["number"]
            if number not in store:
                raise fail(404, f"No document {number} in {path}.")
            if request.method == "DELETE":
                document = store.pop(number)
                return _json(
                    {
                        "message": "Deleted 1 document.",
                        "deletedCount": 1,
                        "deletedItems": [{"number": number, "self": document.body["self"]}],
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
        *document_routes(
            "/invoices/drafts",
            documents.draft_invoices,
            documents.create_draft_invoice,
            deletable=True,
        ),
        *document_routes(
            "/invoices/booked", documents.booked_invoices, documents.book, deletable=False
        ),
        *document_routes(
            "/orders/drafts",
            documents.draft_orders,
            documents.create_draft_order,
            deletable=True,
        ),
        *document_routes(
            "/orders/sent", documents.sent_orders, documents.send_order, deletable=False
        ),
        *reference_routes("/layouts", state.layouts, "layoutNumber"),
        *reference_routes("/payment-terms", state.payment_terms, "paymentTermsNumber"),
        *reference_routes("/vat-zones", state.vat_zones, "vatZoneNumber"),
        *reference_routes("/customer-groups", state.customer_groups, "customerGroupNumber"),
        *reference_routes("/product-groups", state.product_groups, "productGroupNumber"),
        *reference_routes("/vat-accounts", state.vat_accounts, "vatCode"),
        *reference_routes("/units", state.units, "unitNumber"),
        *reference_routes("/currencies", state.currencies, "code"),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_error},
    )
