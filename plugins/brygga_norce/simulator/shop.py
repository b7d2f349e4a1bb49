"""A Norce Commerce simulator (ASGI) with the control surface tests drive.

It speaks the APIs as ``/work/shared/reference/shop-apis.md`` §4 documents them:

- ``POST /identity/1.0/connect/token`` (form: ``grant_type=client_credentials``, client id
  and secret, ``scope`` = the environment): a bearer token valid ``token_ttl`` seconds
  (3600, [NO1]); beyond a burst of 20 token requests, one more each 20 s (3 a minute), else
  429. A missing or expired token on ``/commerce/…`` is a 401.
- The order push: :meth:`NorceSimulator.push_pending` POSTs each new order's ``OrderRequest``
  JSON to the configured receiver (Basic auth when configured, [NO3]); an order stays
  pending (and is sent again by the next call) until the receiver answers 2xx, and a 2xx
  whose body is an ``OrderResponse`` with ``StatusCode: "Failed"`` counts as a failure.
- Query (OData v4, ``/commerce/query/2.0``, routed whatever the case of ``Query``):
  ``Orders/Orders`` with the documented fields (``Id``, ``ApplicationId``, ``QuotationId``,
  ``OrderNo``, ``StatusId``, …; no basket id or ERP number field), ``$filter``,
  ``$orderby``, ``$top``/``$skip``, ``$expand=Items,Buyer``, server-driven pages of
  ``page_size`` with an ``@odata.nextLink`` spelled as the documented example
  (``…/commerce/Query/2.0/…``); ``Products/ProductSkus('…')`` with
  ``$expand=OnHands,PriceLists`` whose rows carry ids (``WarehouseId``, ``LocationId``,
  ``PriceListId``, ``CurrencyId``), ``Application/ClientPriceLists`` (``Agreement`` →
  ``PriceListId``) and ``Application/ClientWarehouses``. Every Query call needs the
  ``ApplicationId`` header (400 without it, page 2 and later too).
- Connect (``/commerce/connect/4.0``): ``Order/SendOrderStatus`` (``ErpOrderNo`` required:
  400 when missing, null or empty), ``Order/CancelOrder``
  (matched on ClientOrderRef and ErpOrderNo), ``Order/CreateDeliveryNote``;
  ``Product/ImportOnhands`` and ``Product/ImportSkuPriceLists`` with the
  ``X-StormConnect-Header``, answered with a ``JobResponse``; ``Job/Get`` and
  ``Job/GetLog``. A job runs after ``job_polls`` Job/Get calls; a 0 or empty price is
  ignored; ``FullFile: true`` deactivates what it omits; stock for an unknown PartNo is
  ignored with a warning row in the job log.

Modelled where the reference is silent: the OrderRequest Header fields, the Query order's
``CurrencyCode`` and expanded shapes, the ``ClientWarehouses`` shape, the SendOrderStatus
answer (200, empty), channels as ``ApplicationId`` (1 and 2 by default), a delivery note
moving the order to Delivered (all rows) or PartlyDelivered, the event's ``X-Norce-Event``
header naming its type.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import httpx
import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from brygga.clock import Clock, SystemClock
from brygga.testing.simulators import Asgi, FaultInjector, Receive, Scope, Send, ShopSimulator
from brygga_norce.simulator.http import error_response, json_response
from brygga_norce.simulator.records import (
    STATUS_IDS,
    ApiError,
    SimItem,
    SimJob,
    SimOnhand,
    SimOrder,
    SimPerson,
    SimPrice,
    SimSku,
)
from brygga_norce.simulator.routes import api_routes
from brygga_norce.simulator.seed import LOCATION, PRICE_LIST, WAREHOUSE
from brygga_norce.simulator.state import NorceState, new_item

__all__ = ["NorceSimulator", "PushAttempt"]

TOKEN_PATH = "/identity/1.0/connect/token"
_PREFIXES = ("/identity/", "/commerce/")
_QUERY_BASE = "/commerce/query/"
_STATUS_NAMES = {v: k for k, v in reversed(STATUS_IDS.items())}


@dataclass(frozen=True)
class PushAttempt:
    """One POST of an order to the receiver and how it was answered (None: no answer)."""

    basket_id: int
    status: int | None
    body: str


class NorceSimulator:
    """One simulated Norce Commerce client: state, an ASGI app, the order pusher, knobs."""

    kind = "norce"

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int = 0,
        token_ttl: float = 3600,
        token_burst: int = 20,
        page_size: int = 50,
        job_polls: int = 1,
        seed_catalog: bool = True,
        channels: Sequence[int] = (1, 2),
        environment: str = "playground",
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.faults = FaultInjector(seed=seed)
        self._rng = random.Random(seed)
        self.client_id = f"norce-sim-{seed}"
        self.client_secret = f"sim-{self._rng.getrandbits(64):016x}"
        self.environment = environment
        self.token_ttl = token_ttl
        self.tokens_issued = 0
        self._token_burst = token_burst
        self._token_allowance = float(token_burst)
        self._token_checked = self.clock.monotonic()
        self._tokens: dict[str, datetime] = {}
        self.channels = tuple(channels)
        self.requests: list[tuple[str, str]] = []
        self.state = NorceState(self.clock, seed_catalog=seed_catalog, job_polls=job_polls)
        #: where orders are pushed (None: nowhere yet) and the Basic credentials sent
        self.receiver_url: str | None = None
        self.receiver_auth: tuple[str, str] | None = None
        #: basket ids not yet accepted by the receiver, oldest first
        self.pending: list[int] = []
        self.pushes: list[PushAttempt] = []
        routes = [
            Route(TOKEN_PATH, self._token, methods=["POST"]),
            *api_routes(self.state, page_size),
        ]
        self._starlette = Starlette(
            routes=routes,
            exception_handlers={ApiError: self._api_error, HTTPException: self._http_error},
        )
        self._app = self.faults.wrap(self._gate)

    # -- the ASGI app ------------------------------------------------------------------

    @property
    def app(self) -> Asgi:
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    async def _gate(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Drop any base-URL path before ``/identity/`` or ``/commerce/``, log the request,
        check the bearer token on ``/commerce/``."""
        if scope["type"] != "http":
            await self._starlette(scope, receive, send)
            return
        path: str = scope["path"]
        for prefix in _PREFIXES:
            at = path.find(prefix)
            if at > 0:
                path = path[at:]
                break
        # the Query base is routed whatever its case: the documented nextLink spells it
        # /commerce/Query/2.0/ (querygeneral), the servers list /commerce/query/2.0/
        if path.lower().startswith(_QUERY_BASE):
            path = _QUERY_BASE + path[len(_QUERY_BASE) :]
        scope = {**scope, "path": path, "raw_path": path.encode()}
        self.requests.append((scope["method"], path))
        if path.startswith("/commerce/") and self._routed(scope) and not self._authorized(scope):
            response = json_response({"Message": "Authorization has been denied"}, 401)
            await response(scope, receive, send)
            return
        await self._starlette(scope, receive, send)

    def _routed(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] != Match.NONE for route in self._starlette.routes)

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                expires = self._tokens.get(token.strip())
                return (
                    scheme.lower() == "bearer"
                    and expires is not None
                    and (self.clock.now() < expires)
                )
        return False

    def _spend_token_allowance(self) -> bool:
        """3 token requests a minute plus a burst of 20 ([NO1])."""
        now = self.clock.monotonic()
        self._token_allowance = min(
            float(self._token_burst), self._token_allowance + (now - self._token_checked) / 20
        )
        self._token_checked = now
        if self._token_allowance < 1:
            return False
        self._token_allowance -= 1
        return True

    async def _token(self, request: Request) -> Response:
        if not self._spend_token_allowance():
            return json_response({"Message": "Too many requests"}, 429)
        if request.headers.get("content-type", "").split(";")[0] != (
            "application/x-www-form-urlencoded"
        ):
            raise ApiError(400, "Send the token request form-encoded", oauth="invalid_request")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "client_credentials":
            raise ApiError(400, "Only client_credentials", oauth="unsupported_grant_type")
        if form.get("client_id") != self.client_id or (
            form.get("client_secret") != self.client_secret
        ):
            raise ApiError(400, "Client authentication failed", oauth="invalid_client")
        if form.get("scope") != self.environment:
            raise ApiError(400, "Unknown scope", oauth="invalid_scope")
        token = f"{self._rng.getrandbits(128):032x}"
        self._tokens[token] = self.clock.now() + timedelta(seconds=self.token_ttl)
        self.tokens_issued += 1
        return json_response(
            {
                "access_token": token,
                "expires_in": int(self.token_ttl),
                "token_type": "Bearer",
                "scope": self.environment,
            }
        )

    async def _api_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return json_response({"Message": str(exc.detail)}, exc.status_code)

    # -- the ShopSimulator control surface ---------------------------------------------

    def adapter_config(self, base_url: str, *, name: str = "") -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": name,
            "base_url": base_url,
            "environment": self.environment,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "application_id": self.channels[0],
            "price_list": PRICE_LIST,
            "warehouse": WAREHOUSE,
            "location": LOCATION,
        }

    def catalog_skus(self) -> list[str]:
        return list(self.state.skus)

    def place_order(
        self,
        *,
        lines: Sequence[tuple[str, int]],
        email: str,
        status: str | None = None,
        freight: Decimal = Decimal(0),
        discount_percent: Decimal = Decimal(0),
        channel: int | None = None,
        company: str = "",
        name: str = "",
        currency: str = "SEK",
        paid: bool = True,
    ) -> str:
        """A checkout: an order for catalog SKUs, pending for the push; returns its
        ``ClientOrderRef`` (the basket id). Freight is a Fee row at 25 %."""
        if not lines:
            raise ValueError("an order needs at least one line")
        now = self.state.now()
        order_id, basket_id = self.state.new_order_ids()
        first, _, last = (name or email.split("@")[0].replace(".", " ").title()).partition(" ")
        items: list[SimItem] = []
        for sku_code, quantity in lines:
            sku = self.state.skus[sku_code]
            items.append(new_item(len(items) + 1, sku, quantity, discount_percent))
        if freight:
            items.append(
                SimItem(
                    line_no=len(items) + 1,
                    part_no="FRAKT",
                    name="Frakt",
                    quantity=1,
                    unit_price=freight,
                    unit_price_original=freight,
                    vat_rate=Decimal(25),
                    type="Freight",
                    type_group="Fee",
                )
            )
        order = SimOrder(
            order_id=order_id,
            basket_id=basket_id,
            application_id=channel if channel is not None else self.channels[0],
            currency=currency,
            buyer=SimPerson(first, last, email, company=company),
            items=items,
            created=now,
            updated=now,
            status_id=STATUS_IDS[status] if status else 0,
            paid=paid,
        )
        self.state.orders[basket_id] = order
        self.pending.append(basket_id)
        return str(basket_id)

    def _order(self, shop_order_id: str) -> SimOrder:
        return self.state.orders[int(shop_order_id)]

    def set_status(self, shop_order_id: str, status: str) -> None:
        """Change the status as a person in Norce Admin would."""
        order = self._order(shop_order_id)
        order.status_id = STATUS_IDS[status]
        order.updated = self.state.now()

    def order_total(self, shop_order_id: str) -> tuple[Decimal, Decimal]:
        return self._order(shop_order_id).totals()

    def exported_document(self, shop_order_id: str) -> str | None:
        """The ERP order number Norce stores for the order (SendOrderStatus ``ErpOrderNo``)."""
        return self._order(shop_order_id).erp_order_no or None

    def order_ids(self) -> list[str]:
        return [str(ref) for ref in sorted(self.state.orders)]

    def order_status(self, shop_order_id: str) -> str:
        status_id = self._order(shop_order_id).status_id
        return _STATUS_NAMES.get(status_id, str(status_id))

    def status_log(self, shop_order_id: str) -> list[dict[str, Any]]:
        """The SendOrderStatus bodies the order received, in order."""
        return list(self._order(shop_order_id).status_log)

    # -- the order push ------------------------------------------------------------------

    def configure_receiver(self, url: str, *, username: str = "", password: str = "") -> None:
        """The order receiver (Admin: ERP integration → ERP endpoint URL/username/password)."""
        self.receiver_url = url
        self.receiver_auth = (username, password) if username or password else None

    def order_request(self, shop_order_id: str) -> dict[str, Any]:
        """The OrderRequest JSON the push of this order carries."""
        return self.state.order_request(self._order(shop_order_id))

    def mangle_push(self, shop_order_id: str, mangle: Callable[[dict[str, Any]], None]) -> None:
        """Let ``mangle`` edit the order's OrderRequest before each push of it."""
        self.state.push_manglers[int(shop_order_id)] = mangle

    async def push_pending(self, client: httpx.AsyncClient) -> list[PushAttempt]:
        """POST every pending order to the receiver once, as Norce's sender does; an order
        the receiver did not accept stays pending for the next call (the retry)."""
        if self.receiver_url is None:
            raise RuntimeError("configure_receiver(url) first")
        attempts, still = [], []
        headers = {"Content-Type": "application/json"}
        if self.receiver_auth is not None:
            pair = ":".join(self.receiver_auth).encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        for basket_id in self.pending:
            body = msgspec.json.encode(self.order_request(str(basket_id)))
            try:
                answer = await client.post(self.receiver_url, content=body, headers=headers)
            except httpx.TransportError as exc:
                attempt = PushAttempt(basket_id, None, str(exc))
            else:
                attempt = PushAttempt(basket_id, answer.status_code, answer.text)
            attempts.append(attempt)
            if not _accepted(attempt):
                still.append(basket_id)
        self.pending = still
        self.pushes.extend(attempts)
        return attempts

    # -- Norce Commerce Event ------------------------------------------------------------

    async def post_event(
        self,
        client: httpx.AsyncClient,
        url: str,
        event: str,
        shop_order_id: str,
        headers: dict[str, str] | None = None,
    ) -> int | None:
        """POST an order event (e.g. ``OrderReceivedEvent``) with the static custom headers
        configured in Admin ([NO12]; no signing); the answer's status, None if none came."""
        order = self._order(shop_order_id)
        body = {
            "ClientId": 1,
            "ApplicationId": order.application_id,
            "OrderId": order.order_id,
            "OrderNo": str(order.basket_id),
            "ClientOrderRef": str(order.basket_id),
            "Email": order.buyer.email,
            "FirstName": order.buyer.first_name,
            "LastName": order.buyer.last_name,
            "Source": "WEB",
        }
        try:
            answer = await client.post(
                url, json=body, headers={"X-Norce-Event": event, **(headers or {})}
            )
        except httpx.TransportError:
            return None
        return answer.status_code

    def delivery_notes(self, shop_order_id: str) -> list[dict[str, Any]]:
        return list(self._order(shop_order_id).delivery_notes)

    # -- knobs ---------------------------------------------------------------------------

    def mangle_order(self, shop_order_id: str, mangle: Callable[[dict[str, Any]], None]) -> None:
        """Let ``mangle`` edit the order's Query JSON before every answer that carries it."""
        self.state.manglers[int(shop_order_id)] = mangle

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    def stock(
        self, sku: str, warehouse: str = WAREHOUSE, location: str = LOCATION
    ) -> Decimal | None:
        """The on-hand value of ``sku`` at a location (None when it has no row there)."""
        for onhand in self.state.skus[sku].onhands:
            if (onhand.warehouse, onhand.location) == (warehouse, location):
                return onhand.value
        return None

    def stock_active(self, sku: str) -> bool:
        return all(o.is_active for o in self.state.skus[sku].onhands)

    def price(self, sku: str, price_list: str = PRICE_LIST) -> tuple[Decimal, bool] | None:
        """(PriceSale, IsActive) of ``sku`` in ``price_list``, or None."""
        for row in self.state.skus[sku].prices:
            if row.price_list == price_list:
                return row.price_sale, row.is_active
        return None

    def jobs(self, kind: str | None = None) -> list[SimJob]:
        return [j for j in self.state.jobs.values() if kind is None or j.kind == kind]

    def fail_next_job(self, message: str) -> None:
        """Make the next job submitted fail when it runs (StatusId 3, an error log row)."""
        self.state.fail_next = message

    def add_sku(self, part_no: str, price: Decimal, vat_rate: Decimal = Decimal(25)) -> None:
        self.state.skus[part_no] = SimSku(
            part_no,
            part_no.title(),
            price,
            vat_rate,
            onhands=[SimOnhand(WAREHOUSE, LOCATION, Decimal(0))],
            prices=[SimPrice(PRICE_LIST, "SEK", price)],
        )


def _accepted(attempt: PushAttempt) -> bool:
    """2xx, unless the body is an OrderResponse saying ``Failed`` ([NO9-order])."""
    if attempt.status is None or not 200 <= attempt.status < 300:
        return False
    try:
        answer = msgspec.json.decode(attempt.body)
    except msgspec.DecodeError:
        return True
    return not (isinstance(answer, dict) and answer.get("StatusCode") == "Failed")


if TYPE_CHECKING:
    _conforms: ShopSimulator = NorceSimulator()
