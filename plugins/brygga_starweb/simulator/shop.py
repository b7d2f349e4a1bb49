"""A Starweb Shop API v2 simulator (ASGI) with the control surface tests and the demo drive.

It speaks the API as ``/work/shared/reference/shop-apis.md`` §2 documents it. Where the
reference is silent the simulator chooses, and the adapter must not rely on more than this:

- ``ordersCreatedAfter`` is inclusive and ``ordersCreatedBefore`` exclusive; a filter value
  whose ``+`` was not URL-encoded (it arrives as a space) is a 400.
- A missing, unknown or expired bearer token is ``401 {"error": "invalid_token"}``; a path
  no route serves is a 404 with or without a token (so a wrong base URL shows as 404).
- The page size is fixed by the server (``page_size``, default 100); a page past the end is
  an empty ``data`` list with the pagination block.
- Every write bumps the order's (or product's) ``modifiedAt``, including external-service
  writes. Timestamps have whole-second resolution, Stockholm local time with offset.
- A status change by API e-mails the customer when ``onOrderStatusChangeSendEmail`` (default:
  the sticky ``sendEmailsOnStatusChange``, itself default true) is true and the status has
  ``shouldSendEmail``; with ``onOrderStatusChangeProcessPayment`` (default true) a reserved
  payment is captured on ``completed`` and cancelled on ``canceled``. Both are recorded in
  :meth:`StarwebSimulator.status_changes`.
- ``filterSku`` on products matches any variant's SKU (``filter_sku_matches_variants=False``:
  only the primary variant's). ``updatedSince`` is inclusive. A product's ``modifiedAt`` moves
  on every write to it, its languages, variants, prices and stock.
- The shop has one language (``sv``), two price lists (the SEK master 1 and the customer
  price list 2) and one stock location (1, the e-commerce one).
- An order-level discount is an item with an empty SKU and a negative ``unitPrice``.
- ``GET /orders`` breaks ties of its sort key (``modifiedAt`` stamped in the same second by a
  bulk edit, say) in an order that changes with every request, as the spec names no
  tie-breaker (seeded by ``seed``; ``shuffle_ties=False`` orders ties by orderId).
- External services (spec: Order External Services) are created with ``POST
  /orders/{id}/external-services`` (201; an existing ``serviceName`` is a 400, the one
  refusal the spec documents for it); ``PUT`` and ``PATCH .../{serviceName}`` update one and
  are a 404 when it does not exist; a read-only one refuses writes with a 403.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from brygga.clock import Clock, SystemClock
from brygga.testing.simulators import Asgi, FaultInjector, Receive, Scope, Send, ShopSimulator
from brygga_starweb.simulator.catalog import CatalogState
from brygga_starweb.simulator.catalog_admin import CatalogAdmin
from brygga_starweb.simulator.catalog_routes import catalog_routes
from brygga_starweb.simulator.http import error_response, json_response
from brygga_starweb.simulator.orders import order_routes
from brygga_starweb.simulator.records import ApiError, SimAddress, SimCustomer, StatusChange
from brygga_starweb.simulator.state import ADDRESS_KINDS, Knobs, OrderState, SimItem, SimOrder

__all__ = ["StarwebSimulator"]

API_PREFIX = "/api/v2"
_ERROR_CODES = {400: "invalid_request", 403: "forbidden", 404: "not_found", 405: "not_allowed"}


class StarwebSimulator(CatalogAdmin):
    """One simulated Starweb shop: in-memory state, an ASGI app, and knobs for hostile tests.

    The app serves both ``{base}/api/v2/...`` and ``{base}/...``. ``requests`` logs every
    request that reached the app as ``(method, path)``; ``tokens_issued`` counts tokens.
    The catalog's control surface (``add_product``, ``set_price``, ``stock`` …) is
    :class:`~brygga_starweb.simulator.catalog_admin.CatalogAdmin`.
    """

    kind = "starweb"

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int = 0,
        token_ttl: float = 3600,
        seed_catalog: bool = True,
        page_size: int = 100,
        duplicate_pages: bool = False,
        drift: int = 0,
        shuffle_ties: bool = True,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.faults = FaultInjector(seed=seed)
        self._rng = random.Random(seed)
        self.client_id = f"brygga-sim-{seed}"
        self.client_secret = f"sim-{self._rng.getrandbits(64):016x}"
        self.token_ttl = token_ttl
        self.tokens_issued = 0
        self.requests: list[tuple[str, str]] = []
        self._tokens: dict[str, datetime] = {}
        self.state = OrderState(self.clock)
        self.catalog = CatalogState(self.state.now(), seed_catalog=seed_catalog)
        self.knobs = Knobs(
            page_size=page_size,
            duplicate_pages=duplicate_pages,
            drift=drift,
            ties=random.Random(seed) if shuffle_ties else None,
        )
        routes = [
            Route("/token", self._token, methods=["POST"]),
            *order_routes(self.state, self.knobs),
            *catalog_routes(self.catalog, self.knobs, self.state.now),
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
        """The simulator is itself an ASGI app (the same as :attr:`app`)."""
        await self._app(scope, receive, send)

    async def _gate(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strip the ``/api/v2`` prefix, log the request and check the bearer token."""
        if scope["type"] != "http":
            await self._starlette(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(API_PREFIX):
            path = path[len(API_PREFIX) :] or "/"
        scope = {**scope, "path": path, "raw_path": path.encode()}
        self.requests.append((scope["method"], path))
        # the token first: a dict lookup, where routing tries every route
        if path != "/token" and not self._authorized(scope) and self._routed(scope):
            response = error_response(
                401, "invalid_token", "The access token provided is invalid or has expired"
            )
            await response(scope, receive, send)
            return
        await self._starlette(scope, receive, send)

    def _routed(self, scope: Scope) -> bool:
        """Whether any route serves this path (unknown paths are 404 even without a token)."""
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

    async def _token(self, request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0] != (
            "application/x-www-form-urlencoded"
        ):
            raise ApiError(400, "invalid_request", "Send the token request form-encoded")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "client_credentials":
            raise ApiError(400, "unsupported_grant_type", "Only client_credentials is allowed")
        if form.get("client_id") != self.client_id or (
            form.get("client_secret") != self.client_secret
        ):
            raise ApiError(400, "invalid_client", "Client authentication failed")
        token = f"{self._rng.getrandbits(128):032x}"
        self._tokens[token] = self.clock.now() + timedelta(seconds=self.token_ttl)
        self.tokens_issued += 1
        return json_response(
            {"access_token": token, "scope": "admin", "expires_in": int(self.token_ttl)}
        )

    async def _api_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.error, exc.description)

    async def _http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        response = error_response(
            exc.status_code, _ERROR_CODES.get(exc.status_code, "error"), str(exc.detail)
        )
        response.headers.update(exc.headers or {})
        return response

    # -- the ShopSimulator control surface ---------------------------------------------

    def adapter_config(self, base_url: str, *, name: str = "") -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": name,
            "base_url": base_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }

    def catalog_skus(self) -> list[str]:
        return [v.sku for p in self.catalog.products.values() for v in p.variants]

    def place_order(
        self,
        *,
        lines: Sequence[tuple[str, int]],
        email: str,
        status: str | None = None,
        freight: Decimal = Decimal(0),
        discount_percent: Decimal = Decimal(0),
        payment_fee: Decimal = Decimal(0),
        order_discount: Decimal = Decimal(0),
        guest: bool = False,
        company: str = "",
        org_number: str = "",
        name: str = "",
        paid: bool = False,
        complete: bool = True,
    ) -> str:
        """Place a complete order for catalog SKUs at their master prices.

        ``discount_percent`` discounts every item row; ``order_discount`` (excl. VAT) becomes
        an item with an empty SKU and a negative price at 25 %; freight and payment fee are
        at 25 %. Guests get no customer record; otherwise one customer per e-mail.
        ``complete=False`` leaves the payment step unfinished (hidden from order lists).
        """
        if not lines:
            raise ValueError("an order needs at least one line")
        now = self.state.now()
        first, _, last = (name or email.split("@")[0].replace(".", " ").title()).partition(" ")
        address = SimAddress(
            company_name=company,
            first_name=first,
            last_name=last,
            address="Storgatan 1",
            postal_code="111 22",
            city="Stockholm",
            country_code="SE",
            phone_no="070-123 45 67",
        )
        customer_id = (
            None if guest else self._customer(email, address, company, org_number).customer_id
        )
        items = []
        for index, (sku, quantity) in enumerate(lines):
            if not isinstance(quantity, int) or quantity == 0:
                raise ValueError(f"quantity of {sku} must be a non-zero int")
            product, variant, price = self.catalog.price_of(sku)
            items.append(
                SimItem(
                    item_id=self.state.next_item_id(),
                    sku=sku,
                    description=f"{product.name} {variant.name}".strip(),
                    quantity=quantity,
                    unit_price=price,
                    vat_rate=product.default_vat_rate or Decimal(25),
                    discount=discount_percent,
                    sort_index=index,
                )
            )
        if order_discount:
            items.append(
                SimItem(
                    item_id=self.state.next_item_id(),
                    sku="",
                    description="Rabatt",
                    quantity=1,
                    unit_price=-order_discount,
                    vat_rate=Decimal(25),
                    sort_index=len(items),
                )
            )
        order = SimOrder(
            order_id=self.state.next_order_id(),
            created_at=now,
            modified_at=now,
            status_id=self.state.status_by_code(status or "created").status_id,
            customer_id=customer_id,
            email=email,
            items=items,
            # the checkout snapshot and the customer's copy; payment-provider ones stay empty
            addresses={kind: address for kind in ADDRESS_KINDS[:4]},
            national_id_no=org_number,
            is_complete=complete,
            shipping_cost=freight,
            payment_fee=payment_fee,
        )
        if paid:
            order.payment_status = "paid"
            order.amount_paid = order.amount_to_pay
        self.state.orders[order.order_id] = order
        return str(order.order_id)

    def _customer(
        self, email: str, address: SimAddress, company: str, org_number: str
    ) -> SimCustomer:
        for customer in self.state.customers.values():
            if customer.email == email:
                return customer
        now = self.state.now()
        customer = SimCustomer(
            customer_id=self.state.next_customer_id(),
            email=email,
            created_at=now,
            modified_at=now,
            type="company" if company else "person",
            national_id_no=org_number,
            invoice=address,
            delivery=address,
        )
        self.state.customers[customer.customer_id] = customer
        return customer

    def _order(self, shop_order_id: str) -> SimOrder:
        order = self.state.orders.get(int(shop_order_id))
        if order is None:
            raise KeyError(f"no simulated order {shop_order_id}")
        return order

    def set_status(self, shop_order_id: str, status: str) -> None:
        """Change the status as a merchant in the admin would (no API side effects logged)."""
        order = self._order(shop_order_id)
        order.status_id = self.state.status_by_code(status).status_id
        self.state.touch(order)

    def order_total(self, shop_order_id: str) -> tuple[Decimal, Decimal]:
        order = self._order(shop_order_id)
        return order.amount_to_pay, order.totals()[1]

    def exported_document(self, shop_order_id: str, service_name: str = "brygga") -> str | None:
        found = self._order(shop_order_id).external_services.get(service_name)
        return found[0] if found else None

    def order_ids(self) -> list[str]:
        return [str(order_id) for order_id in sorted(self.state.orders)]

    # -- knobs for hostile tests --------------------------------------------------------

    def touch(self, shop_order_id: str) -> None:
        """Bump ``modifiedAt`` to now, as any edit in the admin would."""
        self.state.touch(self._order(shop_order_id))

    def delete_order(self, shop_order_id: str) -> None:
        """Remove the order, as deleting it in the admin would."""
        del self.state.orders[self._order(shop_order_id).order_id]

    def status_changes(self, shop_order_id: str) -> list[StatusChange]:
        """Status changes requested by API, with e-mail and payment side effects."""
        return list(self._order(shop_order_id).status_changes)

    def order_status(self, shop_order_id: str) -> str:
        return self.state.statuses[self._order(shop_order_id).status_id].id_code

    def order(self, shop_order_id: str) -> SimOrder:
        """The order's state object (tests may edit it; call :meth:`touch` to publish)."""
        return self._order(shop_order_id)

    def mangle_order(self, shop_order_id: str, mangle: Callable[[dict[str, Any]], None]) -> None:
        """Let ``mangle`` edit the order's JSON before every response that carries it."""
        self.knobs.manglers[int(shop_order_id)] = mangle

    def revoke_tokens(self) -> None:
        """Invalidate every issued token (the next API call with one gets a 401)."""
        self._tokens.clear()

    @property
    def on_orders_page(self) -> Callable[[int], None] | None:
        return self.knobs.on_orders_page

    @on_orders_page.setter
    def on_orders_page(self, hook: Callable[[int], None] | None) -> None:
        self.knobs.on_orders_page = hook


if TYPE_CHECKING:  # mypy checks that the control surface matches the shared protocol
    _conforms: ShopSimulator = StarwebSimulator()
