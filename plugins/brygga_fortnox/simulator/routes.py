"""The simulator's REST routes (``/3/...`` and the warehouse status API) as a Starlette app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from brygga_fortnox.simulator import documents, records
from brygga_fortnox.simulator.charset import check_text
from brygga_fortnox.simulator.errors import ApiError
from brygga_fortnox.simulator.http import list_answer
from brygga_fortnox.simulator.state import SimState
from brygga_fortnox.simulator.wire import error_body, to_json

__all__ = ["build_app", "json_response"]

Handler = Callable[[Request], Awaitable[Response]]
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def json_response(status: int, body: Any) -> Response:
    return Response(to_json(body), status_code=status, media_type="application/json")


def _guarded(handler: Handler) -> Handler:
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return json_response(exc.status, error_body(exc.code, exc.message))

    return run


async def _body(request: Request, wrapper: str) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, 2001392, "Ingen eller felaktig data skickades.")
    try:
        decoded = _DECODER.decode(raw)
    except msgspec.DecodeError:
        raise ApiError(400, 2002115, "Felaktig JSON-syntax.") from None
    inner = decoded.get(wrapper) if isinstance(decoded, dict) else None
    if not isinstance(inner, dict):
        raise ApiError(400, 2001392, f"Ingen eller felaktig data skickades ({wrapper}).")
    check_text(inner)
    return inner


def _key(record: dict[str, Any], field: str) -> tuple[int, str]:
    text = str(record.get(field, ""))
    return (int(text), "") if text.isdigit() else (10**18, text)


def build_app(state: SimState, vat_rates: frozenset[Decimal]) -> Starlette:
    """The ``/3`` REST API over ``state`` (auth and the rate limit are the gate's)."""

    def params(request: Request) -> dict[str, str]:
        return {k.lower(): v for k, v in request.query_params.items()}

    async def customers(request: Request) -> Response:
        if request.method == "POST":
            created = records.create_customer(state, await _body(request, "Customer"))
            return json_response(201, {"Customer": created})
        answer = list_answer(
            state,
            "customers",
            params(request),
            wrapper="Customers",
            search={
                "customernumber": "CustomerNumber",
                "name": "Name",
                "email": "Email",
                "organisationnumber": "OrganisationNumber",
                "zipcode": "ZipCode",
                "city": "City",
                "phone": "Phone1",
            },
            filters={"active": lambda r: r["Active"], "inactive": lambda r: not r["Active"]},
            item=records.customer_list_item,
            sort_key=lambda r: _key(r, "CustomerNumber"),
        )
        return json_response(200, answer)

    async def customer(request: Request) -> Response:
        found = state.get("customers", request.path_params["number"])
        if found is None:
            raise ApiError(404, 2000204, "Kunde inte hitta kunden.")
        return json_response(200, {"Customer": found})

    async def articles(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request, "Article")
            return json_response(201, {"Article": records.create_article(state, body, vat_rates)})
        answer = list_answer(
            state,
            "articles",
            params(request),
            wrapper="Articles",
            search={
                "articlenumber": "ArticleNumber",
                "description": "Description",
                "ean": "EAN",
                "manufacturer": "Manufacturer",
            },
            filters={"active": lambda r: r["Active"], "inactive": lambda r: not r["Active"]},
            item=records.article_list_item,
            sort_key=lambda r: r["ArticleNumber"],
        )
        return json_response(200, answer)

    async def article(request: Request) -> Response:
        number = request.path_params["number"]
        if request.method == "PUT":
            body = await _body(request, "Article")
            return json_response(
                200, {"Article": records.update_article(state, number, body, vat_rates)}
            )
        found = state.get("articles", number)
        if found is None:
            raise ApiError(404, 2000428, f"Kan inte hitta artikeln ({number}).")
        return json_response(200, {"Article": found})

    def document_list(kind: str) -> Handler:
        invoices = kind == "invoices"
        wrapper, single = ("Invoices", "Invoice") if invoices else ("Orders", "Order")
        search = {
            "customernumber": "CustomerNumber",
            "customername": "CustomerName",
            "documentnumber": "DocumentNumber",
            "externalinvoicereference1": "ExternalInvoiceReference1",
            "externalinvoicereference2": "ExternalInvoiceReference2",
            "yourreference": "YourReference",
            "ourreference": "OurReference",
        }
        if invoices:
            search["yourordernumber"] = "YourOrderNumber"
            filters = {
                "cancelled": lambda r: r["Cancelled"],
                "fullypaid": lambda r: r["Booked"] and not r["Cancelled"] and r["Balance"] == 0,
                "unpaid": lambda r: r["Booked"] and not r["Cancelled"] and r["Balance"] != 0,
                "unbooked": lambda r: not r["Booked"] and not r["Cancelled"],
                "unpaidoverdue": lambda r: False,
            }
            item = documents.invoice_list_item
        else:
            filters = {
                "cancelled": lambda r: r["Cancelled"],
                "expired": lambda r: False,
                "invoicecreated": lambda r: bool(documents.linked(r, "InvoiceReference")),
                "invoicenotcreated": lambda r: (
                    not documents.linked(r, "InvoiceReference") and not r["Cancelled"]
                ),
            }
            item = documents.order_list_item

        async def handle(request: Request) -> Response:
            if request.method == "POST":
                body = await _body(request, single)
                created = documents.create_document(state, kind, body, vat_rates)
                return json_response(201, {single: created})
            answer = list_answer(
                state,
                kind,
                params(request),
                wrapper=wrapper,
                search=search,
                filters=filters,
                item=item,
                sort_key=lambda r: _key(r, "DocumentNumber"),
            )
            return json_response(200, answer)

        return handle

    def document(kind: str, single: str) -> Handler:
        async def handle(request: Request) -> Response:
            found = state.get(kind, request.path_params["number"])
            if found is None:
                raise ApiError.not_found(f"dokument {request.path_params['number']}")
            return json_response(200, {single: found})

        return handle

    async def invoice_action(request: Request) -> Response:
        number, action = request.path_params["number"], request.path_params["action"]
        if action == "bookkeep":
            result = documents.book(state, number)
        elif action == "cancel":
            result = documents.cancel(state, "invoices", number)
        elif action == "credit":
            result = documents.credit(state, number)
        elif action == "externalprint":
            result = state.get("invoices", number) or {}
            if not result:
                raise ApiError.not_found(f"faktura {number}")
            result["Sent"] = True
            state.touch("invoices", number)
        else:
            raise ApiError(404, 2000433, f"Okänd åtgärd {action}.")
        return json_response(200, {"Invoice": result})

    async def order_action(request: Request) -> Response:
        number, action = request.path_params["number"], request.path_params["action"]
        if action == "createinvoice":
            return json_response(
                200, {"Invoice": documents.create_invoice_from_order(state, number)}
            )
        if action == "cancel":
            return json_response(200, {"Order": documents.cancel(state, "orders", number)})
        raise ApiError(404, 2000433, f"Okänd åtgärd {action}.")

    async def payments(request: Request) -> Response:
        if request.method == "GET":
            answer = list_answer(
                state,
                "invoicepayments",
                params(request),
                wrapper="InvoicePayments",
                search={"invoicenumber": "InvoiceNumber"},
                filters={},
                item=documents.payment_list_item,
                sort_key=lambda r: _key(r, "Number"),
            )
            return json_response(200, answer)
        body = await _body(request, "InvoicePayment")
        number = str(body.get("InvoiceNumber", ""))
        amount = records.decimal_of(body.get("Amount", 0), "Amount")
        payment = documents.pay(state, number, amount)
        return json_response(201, {"InvoicePayment": payment})

    async def price_lists(request: Request) -> Response:
        if request.method == "POST":
            body = await _body(request, "PriceList")
            code = body.get("Code")
            if not isinstance(code, str) or not code or state.get("pricelists", code):
                raise ApiError.invalid("Code", code)
            record = {"@url": f"https://api.fortnox.se/3/pricelists/{code}", "Code": code,
                      "Description": str(body.get("Description", code))[:50],
                      "Comments": str(body.get("Comments", "")), "PreSelected": False}  # fmt: skip
            return json_response(201, {"PriceList": state.put("pricelists", code, record)})
        rows = sorted(state.table("pricelists").values(), key=lambda r: r["Code"])
        return json_response(200, {"PriceLists": rows})

    async def price_list(request: Request) -> Response:
        found = state.get("pricelists", request.path_params["code"])
        if found is None:
            raise ApiError.not_found("prislistan")
        return json_response(200, {"PriceList": found})

    async def prices(request: Request) -> Response:
        created = records.put_price(state, await _body(request, "Price"), create=True)
        return json_response(201, {"Price": created})

    async def price(request: Request) -> Response:
        p = request.path_params
        from_quantity = p.get("from", "0")
        if request.method == "PUT":
            body = await _body(request, "Price")
            try:
                from_number = Decimal(from_quantity)
            except ArithmeticError:
                raise ApiError.bad_parameter("FromQuantity") from None
            body = {**body, "PriceList": p["list"], "ArticleNumber": p["article"],
                    "FromQuantity": from_number}  # fmt: skip
            return json_response(200, {"Price": records.put_price(state, body, create=False)})
        key = f"{p['list']}/{p['article']}/{Decimal(from_quantity).normalize()}"
        found = state.get("prices", key)
        if found is None:
            raise ApiError.not_found("priset")
        return json_response(200, {"Price": found})

    async def price_sublist(request: Request) -> Response:
        p = request.path_params
        prefix = f"{p['list']}/{p['article']}/"
        rows = [
            {k: r[k] for k in ("@url", "ArticleNumber", "FromQuantity", "Price", "PriceList")}
            for key, r in sorted(state.table("prices").items())
            if key.startswith(prefix)
        ]
        return json_response(200, {"Prices": rows})

    async def stock_balance(request: Request) -> Response:
        items = set(request.query_params.getlist("itemIds"))
        points = set(request.query_params.getlist("stockPointCodes"))
        rows = [
            {"itemId": item, "stockPointCode": point, "inStock": held, "availableStock": free}
            for (item, point), (held, free) in sorted(state.stock.items())
            if (not items or item in items) and (not points or point in points)
        ]
        return json_response(200, rows)

    async def not_found(request: Request) -> Response:
        raise ApiError(404, 2000433, "Kan inte hitta resursen.")

    routes = [
        Route("/3/customers", customers, methods=["GET", "POST"]),
        Route("/3/customers/{number}", customer, methods=["GET"]),
        Route("/3/articles", articles, methods=["GET", "POST"]),
        Route("/3/articles/{number}", article, methods=["GET", "PUT"]),
        Route("/3/invoices", document_list("invoices"), methods=["GET", "POST"]),
        Route("/3/invoices/{number}", document("invoices", "Invoice"), methods=["GET"]),
        Route("/3/invoices/{number}/{action}", invoice_action, methods=["PUT"]),
        Route("/3/orders", document_list("orders"), methods=["GET", "POST"]),
        Route("/3/orders/{number}", document("orders", "Order"), methods=["GET"]),
        Route("/3/orders/{number}/{action}", order_action, methods=["PUT"]),
        Route("/3/invoicepayments", payments, methods=["GET", "POST"]),
        Route("/3/pricelists", price_lists, methods=["GET", "POST"]),
        Route("/3/pricelists/{code}", price_list, methods=["GET"]),
        Route("/3/prices", prices, methods=["POST"]),
        Route("/3/prices/sublist/{list}/{article}", price_sublist, methods=["GET"]),
        Route("/3/prices/{list}/{article}", price, methods=["GET"]),
        Route("/3/prices/{list}/{article}/{from}", price, methods=["GET", "PUT"]),
        Route("/api/warehouse/status-v1/stockbalance", stock_balance, methods=["GET"]),
    ]
    guarded = [Route(r.path, _guarded(r.endpoint), methods=sorted(r.methods or ())) for r in routes]
    app = Starlette(routes=guarded)
    app.add_route("/{rest:path}", _guarded(not_found), methods=["GET", "POST", "PUT", "DELETE"])
    return app
