"""The Hogia simulator's HTTP side: the token endpoint, bearer check, request log and routes."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from brygga.testing.simjson import Refusal, contains, handled, json_object, number, time_window
from brygga.testing.simulators import Asgi, Receive, Scope, Send
from brygga_hogia.simulator.state import VAT_RATES, SimState, reference_of
from brygga_hogia.simulator.wire import (
    error_list,
    json_response,
    problem,
)

__all__ = ["Gate", "build_app"]

MAX_PAGE_SIZE = 500
TOKEN_PATH = "/connect/token"
TOKEN_SECONDS = 3600


class Gate:
    """ASGI middleware: logs every request, answers the token endpoint (client credentials)
    and refuses API requests without a valid bearer token (401) or for another organisation
    (404)."""

    def __init__(
        self, app: Asgi, state: SimState, *, client_id: str, client_secret: str, organization: str
    ) -> None:
        self.app = app
        self.state = state
        self.client_id, self.client_secret, self.organization = (
            client_id,
            client_secret,
            organization,
        )
        self.requests: list[tuple[str, str]] = []
        self.tokens: dict[str, float] = {}
        self._serial = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        self.requests.append((method, path))
        if path == TOKEN_PATH and method == "POST":
            await self._token(Request(scope, receive))(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        bearer = headers.get(b"authorization", b"").decode("latin-1").removeprefix("Bearer ")
        expires = self.tokens.get(bearer)
        if expires is None or expires <= self.state.clock.monotonic():
            await error_list(401, "Unauthorized", "Missing or expired access token")(
                scope, receive, send
            )
            return
        prefix = f"/{self.organization}/"
        if not path.startswith(prefix):
            await error_list(404, "NotFound", "No such organization")(scope, receive, send)
            return
        await self.app({**scope, "path": "/" + path[len(prefix) :]}, receive, send)

    def _token(self, request: Request) -> Any:
        async def answer(scope: Scope, receive: Receive, send: Send) -> None:
            form = {k: v[-1] for k, v in parse_qs((await request.body()).decode("latin-1")).items()}
            if (
                form.get("grant_type") != "client_credentials"
                or form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
            ):
                response = json_response({"error": "invalid_client"}, 400)
            else:
                token = f"sim-hogia-token-{next(self._serial)}"
                self.tokens[token] = self.state.clock.monotonic() + TOKEN_SECONDS
                response = json_response(
                    {"access_token": token, "expires_in": TOKEN_SECONDS, "token_type": "Bearer"}
                )
            await response(scope, receive, send)

        return answer


class BadRequest(Refusal):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.response = problem(400, {field: [message]})


def _paged(request: Request, rows: list[dict[str, Any]]) -> Response:
    try:
        page = int(request.query_params.get("page", "1"))
        size = int(request.query_params.get("pageSize", "100"))
    except ValueError:
        raise BadRequest("page", "page and pageSize must be whole numbers") from None
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest("pageSize", f"page >= 1 and pageSize 1-{MAX_PAGE_SIZE}")
    return json_response(
        {
            "items": rows[(page - 1) * size : page * size],
            "page": page,
            "pageSize": size,
            "totalItems": len(rows),
        }
    )


def _number(value: Any, field: str) -> Decimal:
    found = number(value)
    if found is None:
        raise BadRequest(field, "must be a number")
    return found


def _window(request: Request, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return time_window(
        request,
        ("loggedFrom", "loggedTo"),
        "loggedDate",
        rows,
        lambda name: BadRequest(name, "is not an ISO 8601 time"),
    )


def build_app(state: SimState) -> Starlette:
    """The routed app over ``state`` (tokens and the organisation prefix live in Gate)."""

    async def body_of(request: Request) -> dict[str, Any]:
        body = await json_object(request)
        if body is None:
            raise BadRequest("$", "The request body must be a JSON object")
        return body

    async def list_contacts(request: Request) -> Response:
        rows = list(state.contacts.values())
        for param in ("emailAddress", "identificationNumber", "number"):
            if param in request.query_params:
                wanted = request.query_params[param]
                rows = [c for c in rows if contains(c.get(param), wanted)]
        return _paged(request, rows)

    async def create_contact(request: Request) -> Response:
        body = await body_of(request)
        if not any(str(body.get(k) or "").strip() for k in ("givenName", "surName", "companyName")):
            raise BadRequest("companyName", "A contact needs a name")
        return json_response(state.new_contact(body), 201)

    async def list_articles(request: Request) -> Response:
        return _paged(request, [state.articles[k] for k in sorted(state.articles)])

    async def get_article(request: Request) -> Response:
        article = state.articles.get(request.path_params["number"])
        if article is None:
            return error_list(404, "NotFound", "No such article")
        return json_response(article)

    async def list_changes(request: Request) -> Response:
        return _paged(request, _window(request, state.landed()))

    async def list_invoices(request: Request) -> Response:
        rows = list(state.invoices.values())
        if "externalReference" in request.query_params:
            wanted = request.query_params["externalReference"]
            rows = [i for i in rows if contains(reference_of(i), wanted)]
        if "customerInvoiceIds" in request.query_params:
            ids = set(request.query_params["customerInvoiceIds"].split(","))
            rows = [i for i in rows if i["customerInvoiceId"] in ids]
        return _paged(request, rows)

    async def create_invoice(request: Request) -> Response:
        body = await body_of(request)
        if str(body.get("customerNumber", "")) not in state.contacts:
            raise BadRequest("customerNumber", "No customer with this number")
        if not reference_of(body):
            raise BadRequest("customerInvoiceReferences", "An External reference is required")
        lines = body.get("invoiceLines")
        if not isinstance(lines, list) or not lines:
            raise BadRequest("invoiceLines", "At least one line is required")
        for index, line in enumerate(lines):
            where = f"invoiceLines[{index}]"
            if not isinstance(line, dict):
                raise BadRequest(where, "must be an object")
            article = line.get("articleNumber")
            if article and article not in state.articles:
                raise BadRequest(f"{where}.articleNumber", f"Article {article} does not exist")
            for field in ("quantity", "unitPrice", "vat"):
                line[field] = _number(line.get(field), f"{where}.{field}")
            if line["vat"] not in VAT_RATES:
                raise BadRequest(f"{where}.vat", "Unknown VAT rate")
        invoice = state.new_invoice(body)
        return json_response({"customerInvoiceId": invoice["customerInvoiceId"]}, 201)

    async def cancel_invoice(request: Request) -> Response:
        invoice = state.invoices.get(request.path_params["id"])
        if invoice is None:
            return error_list(404, "NotFound", "No such customer invoice")
        if invoice["isBilled"]:
            raise BadRequest("isBilled", "A billed invoice cannot be canceled; credit it")
        invoice.update(isCanceled=True, customerInvoiceState="Canceled")
        return json_response(invoice)

    routes = [
        Route("/contacts", handled(list_contacts), methods=["GET"]),
        Route("/contacts", handled(create_contact), methods=["POST"]),
        Route("/articles", handled(list_articles), methods=["GET"]),
        Route("/articles/{number:path}", handled(get_article), methods=["GET"]),
        Route("/changes", handled(list_changes), methods=["GET"]),
        Route("/customerinvoices", handled(list_invoices), methods=["GET"]),
        Route("/customerinvoices", handled(create_invoice), methods=["POST"]),
        Route("/customerinvoices/{id}/cancel", handled(cancel_invoice), methods=["POST"]),
    ]
    return Starlette(routes=routes)
