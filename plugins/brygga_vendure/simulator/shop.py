"""An in-memory Vendure Admin API (GraphQL over ``POST /admin-api``) for tests and the demo.

Modelled on Vendure 3.x as documented (docs.vendure.io: Admin API reference, "Order
Workflow", "Stock Control", "Money & Currency", "Managing Sessions") and as the real server
in ``contrib/real/vendure`` answered (reference/real-peers.md §B). Its own wire shapes; it
imports nothing of the adapter. What it does:

- ``login(username, password)`` puts a session token in the ``vendure-auth-token`` response
  header (an ``InvalidCredentialsError`` result for wrong ones); every other field needs
  ``Authorization: Bearer <token>`` and is answered HTTP 200 with a ``FORBIDDEN`` GraphQL
  error without it, or when the session ended (``session_seconds``) or was dropped
  (:meth:`VendureSimulator.end_sessions`). ``password`` can be changed at any time (the
  administrator's new password: a login with the old one is refused); ``forbidden`` names
  root fields the administrator's role lacks the permission for, answered ``FORBIDDEN``
  with a valid session too (Vendure's ``@Allow`` guard: one error code for both).
- Queries: ``orders`` / ``productVariants`` (``options``: ``skip``, ``take`` (at most 1000),
  ``sort`` by one or more fields, ``filter`` with string/number/date/boolean operators:
  ``eq``, ``in``, ``notIn``, ``before``, ``after``, ``between``, ``isNull``), ``order(id)``
  with ``history(options)``, ``activeChannel``, ``globalSettings`` (``serverConfig
  .orderProcess``: the default order process).
- Catalog: ``product(slug)``, ``taxRates``, ``createProduct``, ``createProductVariants`` (a
  second variant without options is a USER_INPUT_ERROR, as in Vendure).
- Mutations: ``updateProductVariants``, ``addNoteToOrder``, ``settlePayment``,
  ``addFulfillmentToOrder``, ``transitionFulfillmentToState``, ``transitionOrderToState``,
  ``cancelOrder``, with Vendure's ErrorResult unions and its order-process rules (an order
  ships only once settled; Shipped/Delivered follow the fulfilments).
- Amounts are integers in minor units; lines carry their tax rate; ``updatedAt`` moves on
  every state change (a note does not move it).

Only the selected fields are answered (responses are cut to the selection set), unknown
fields are null: the simulator does not validate documents against Vendure's schema.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from brygga.clock import Clock, SystemClock
from brygga.testing.simulators import Asgi, FaultInjector
from brygga_vendure.simulator.gql import Field, GqlSyntaxError, parse, project

__all__ = ["DEFAULT_PROCESS", "StatusChange", "VendureSimulator"]

#: Vendure's default order process (globalSettings.serverConfig.orderProcess, 3.7.3)
DEFAULT_PROCESS: dict[str, list[str]] = {
    "Created": ["AddingItems", "Draft"],
    "Draft": ["Cancelled", "ArrangingPayment"],
    "AddingItems": ["ArrangingPayment", "Cancelled"],
    "ArrangingPayment": ["PaymentAuthorized", "PaymentSettled", "AddingItems", "Cancelled"],
    "PaymentAuthorized": ["PaymentSettled", "Cancelled", "Modifying", "ArrangingAdditionalPayment"],
    "PaymentSettled": [
        "PartiallyDelivered",
        "Delivered",
        "PartiallyShipped",
        "Shipped",
        "Cancelled",
        "Modifying",
        "ArrangingAdditionalPayment",
    ],
    "PartiallyShipped": ["Shipped", "PartiallyDelivered", "Cancelled", "Modifying"],
    "Shipped": ["PartiallyDelivered", "Delivered", "Cancelled", "Modifying"],
    "PartiallyDelivered": ["Delivered", "Cancelled", "Modifying"],
    "Delivered": ["Cancelled"],
    "Modifying": [
        "PaymentAuthorized",
        "PaymentSettled",
        "PartiallyShipped",
        "Shipped",
        "PartiallyDelivered",
        "ArrangingAdditionalPayment",
    ],
    "ArrangingAdditionalPayment": [
        "PaymentAuthorized",
        "PaymentSettled",
        "PartiallyShipped",
        "Shipped",
        "PartiallyDelivered",
        "Cancelled",
    ],
    "Cancelled": [],
}
_FULFILMENT = {"Pending": ["Shipped", "Cancelled"], "Shipped": ["Delivered", "Cancelled"]}
_EXPORT_NOTE = re.compile(r"^brygga exported as (?:invoice|order) (\S+)")
_ENCODE = msgspec.json.Encoder()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass
class SimVariant:
    id: int
    sku: str
    name: str
    price: int  # net minor units (the channel's prices exclude tax)
    tax_rate: Decimal
    stock_on_hand: int
    stock_allocated: int = 0
    updated_at: datetime | None = None
    enabled: bool = True
    product_id: int = 0

    def wire(self, currency: str) -> dict[str, Any]:
        gross = _round(Decimal(self.price) * (1 + self.tax_rate / 100))
        return {
            "__typename": "ProductVariant",
            "id": str(self.id),
            "sku": self.sku,
            "name": self.name,
            "enabled": self.enabled,
            "price": self.price,
            "priceWithTax": gross,
            "currencyCode": currency,
            "stockOnHand": self.stock_on_hand,
            "stockAllocated": self.stock_allocated,
            "trackInventory": "INHERIT",
            "outOfStockThreshold": 0,
            "useGlobalOutOfStockThreshold": True,
            "taxRateApplied": {"value": float(self.tax_rate)},
            "prices": [{"currencyCode": currency, "price": self.price}],
            "updatedAt": _iso(self.updated_at) if self.updated_at else None,
        }


@dataclass
class SimLine:
    id: int
    variant: SimVariant
    quantity: int
    unit_price: int
    tax_rate: Decimal
    discount_percent: Decimal = Decimal(0)

    @property
    def line_price(self) -> int:
        return self.unit_price * self.quantity

    @property
    def prorated(self) -> int:
        return _round(Decimal(self.line_price) * (100 - self.discount_percent) / 100)

    def gross(self, net: int) -> int:
        return _round(Decimal(net) * (1 + self.tax_rate / 100))


@dataclass
class SimFulfilment:
    id: int
    state: str
    method: str
    tracking_code: str
    lines: list[tuple[int, int]]


@dataclass
class SimOrder:
    id: int
    code: str
    state: str
    created_at: datetime
    updated_at: datetime
    placed_at: datetime
    customer: dict[str, Any]
    address: dict[str, Any]
    lines: list[SimLine]
    shipping: int
    shipping_tax_rate: Decimal
    payments: list[dict[str, Any]] = field(default_factory=list)
    fulfilments: list[SimFulfilment] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    mangle: Callable[[dict[str, Any]], None] | None = None

    def totals(self) -> tuple[int, int]:
        net = sum(line.prorated for line in self.lines) + self.shipping
        gross = sum(line.gross(line.prorated) for line in self.lines) + _round(
            Decimal(self.shipping) * (1 + self.shipping_tax_rate / 100)
        )
        return net, gross


@dataclass(frozen=True)
class StatusChange:
    """One step of an order as the demo and tests read it: the order's state after it and
    ``payment_action`` "captured" where a payment was settled (Vendure's capture)."""

    #: the order's state after the step
    status: str
    #: "checkout", "state" (an ORDER_STATE_TRANSITION) or "payment" (a payment settled)
    via: str
    #: "captured" when a payment was settled on this step, else ""
    payment_action: str


class _UserInputError(Exception):
    """Answered as a GraphQL error with code USER_INPUT_ERROR (HTTP 200)."""


class VendureSimulator:
    """A Vendure shop's Admin API in memory (module notes); the kit's ShopSimulator."""

    kind = "vendure"

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        currency: str = "SEK",
        session_seconds: float = 365 * 86400.0,
        username: str = "superadmin",
        password: str = "sim-superadmin-secret",
        seed: int = 0,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.currency = currency
        self.session_seconds = session_seconds
        self.username = username
        self.password = password
        self.faults = FaultInjector(seed=seed)
        self.variants: dict[int, SimVariant] = {}
        #: products: id -> (slug, name, enabled)
        self.products: dict[int, dict[str, Any]] = {}
        #: tax rates: (id, percent, category id), all in the default zone "1"
        self.tax_rates = [("1", Decimal(25), "1"), ("2", Decimal(12), "2")]
        self.orders: dict[int, SimOrder] = {}
        self.sessions: dict[str, datetime] = {}
        #: root fields (queries, mutations) the administrator's role may not use: FORBIDDEN
        self.forbidden: set[str] = set()
        #: root fields of the mutations received, in order (reads are not logged)
        self.mutations: list[str] = []
        self.logins = 0
        self._ids: dict[str, int] = {}
        for sku, name, price, rate, stock in (
            ("WIDGET-1", "Widget", 12500, 25, 100),
            ("GADGET-S", "Gadget S", 20000, 25, 50),
            ("GADGET-M", "Gadget M", 21000, 25, 0),
            ("COFFEE-500", "Coffee", 8900, 12, 400),
        ):
            vid = self._next("variant")
            pid = self._next("product")
            self.products[pid] = {"slug": sku.lower(), "name": name, "enabled": True}
            self.variants[vid] = SimVariant(
                vid,
                sku,
                name,
                price,
                Decimal(rate),
                stock,
                updated_at=self.clock.now(),
                product_id=pid,
            )
        self._app = self.faults.wrap(
            Starlette(routes=[Route("/admin-api", self._endpoint, methods=["POST"])])
        )

    # -- the control surface --------------------------------------------------------------

    @property
    def app(self) -> Asgi:
        return self._app

    def adapter_config(self, base_url: str, *, name: str = "") -> dict[str, Any]:
        return {
            "kind": "vendure",
            "name": name or "vendure",
            "base_url": base_url.rstrip("/") + "/admin-api",
            "username": self.username,
            "password": self.password,
        }

    def catalog_skus(self) -> list[str]:
        return [v.sku for v in self.variants.values() if v.stock_on_hand > 0]

    def catalog_articles(self) -> list[tuple[str, str, Decimal, Decimal]]:
        """(SKU, name, price excl. VAT, VAT %) of each SKU ``place_order`` sells: what an ERP
        simulator needs to hold for this shop's orders (``CatalogShopSimulator``)."""
        return [
            (v.sku, v.name, Decimal(v.price) / 100, v.tax_rate)
            for v in self.variants.values()
            if v.stock_on_hand > 0
        ]

    def _next(self, kind: str) -> int:
        self._ids[kind] = self._ids.get(kind, 0) + 1
        return self._ids[kind]

    def _variant_by_sku(self, sku: str) -> SimVariant:
        for variant in self.variants.values():
            if variant.sku == sku:
                return variant
        raise KeyError(sku)

    def place_order(
        self,
        *,
        lines: Sequence[tuple[str, int]],
        email: str,
        status: str | None = None,
        freight: Decimal = Decimal(0),
        discount_percent: Decimal = Decimal(0),
    ) -> str:
        """An order checked out through the shop (settled payment unless ``status`` says
        ``PaymentAuthorized``); stock is allocated as Vendure does at checkout."""
        now = self.clock.now()
        oid = self._next("order")
        order_lines = []
        for sku, quantity in lines:
            variant = self._variant_by_sku(sku)
            variant.stock_allocated += quantity
            order_lines.append(
                SimLine(
                    self._next("line"),
                    variant,
                    quantity,
                    variant.price,
                    variant.tax_rate,
                    discount_percent,
                )
            )
        order = SimOrder(
            id=oid,
            code=f"SIM{oid:08d}",
            state="PaymentSettled",
            created_at=now,
            updated_at=now,
            placed_at=now,
            customer={
                "__typename": "Customer",
                "id": str(oid),
                "emailAddress": email,
                "firstName": "Kim",
                "lastName": "Kund",
                "phoneNumber": "+46 8 000 000",
                "user": None,
            },
            address={
                "fullName": "Kim Kund",
                "company": "",
                "streetLine1": "Storgatan 1",
                "streetLine2": "",
                "city": "Stockholm",
                "province": "",
                "postalCode": "111 22",
                "countryCode": "SE",
                "phoneNumber": "+46 8 000 000",
            },
            lines=order_lines,
            shipping=_round(freight * 100),
            shipping_tax_rate=Decimal(25),
        )
        _, gross = order.totals()
        settled = status != "PaymentAuthorized"
        order.payments.append(
            {
                "id": str(self._next("payment")),
                "state": "Settled" if settled else "Authorized",
                "amount": gross,
                "method": "standard-payment",
            }
        )
        order.state = "PaymentSettled" if settled else "PaymentAuthorized"
        self.orders[oid] = order
        if status and status not in ("PaymentSettled", "PaymentAuthorized"):
            self.set_status(str(oid), status)
        return str(oid)

    def set_status(self, shop_order_id: str, status: str) -> None:
        if status not in DEFAULT_PROCESS:
            raise ValueError(f"Vendure has no order state {status!r}")
        self._move(self.orders[int(shop_order_id)], status)

    def order_status(self, shop_order_id: str) -> str:
        """The order's state (``Order.state``, e.g. ``PaymentSettled``, ``Shipped``)."""
        return self.orders[int(shop_order_id)].state

    def status_changes(self, shop_order_id: str) -> list[StatusChange]:
        """The order's steps from its history: checkout first (its state then, "captured"
        when a payment was settled at checkout), then each state transition and each payment
        settled later (``settlePayment``: Authorized → Settled, "captured")."""
        order = self.orders[int(shop_order_id)]
        moves = [e["data"] for e in order.history if e["type"] == "ORDER_STATE_TRANSITION"]
        settled_later = {
            e["data"].get("paymentId")
            for e in order.history
            if e["type"] == "ORDER_PAYMENT_TRANSITION" and e["data"].get("to") == "Settled"
        }
        at_checkout = any(
            p["state"] == "Settled" and p["id"] not in settled_later for p in order.payments
        )
        state = str(moves[0]["from"]) if moves else order.state
        changes = [StatusChange(state, "checkout", "captured" if at_checkout else "")]
        for entry in order.history:
            data = entry["data"]
            if entry["type"] == "ORDER_STATE_TRANSITION":
                state = str(data["to"])
                changes.append(StatusChange(state, "state", ""))
            elif entry["type"] == "ORDER_PAYMENT_TRANSITION" and data.get("to") == "Settled":
                changes.append(StatusChange(state, "payment", "captured"))
        return changes

    def order_total(self, shop_order_id: str) -> tuple[Decimal, Decimal]:
        net, gross = self.orders[int(shop_order_id)].totals()
        return Decimal(gross) / 100, Decimal(gross - net) / 100

    def exported_document(self, shop_order_id: str) -> str | None:
        for entry in reversed(self.orders[int(shop_order_id)].history):
            if entry["type"] == "ORDER_NOTE":
                match = _EXPORT_NOTE.match(entry["data"].get("note", ""))
                if match:
                    return match.group(1)
        return None

    def order_ids(self) -> list[str]:
        return [str(i) for i in self.orders]

    def mangle_order(self, shop_order_id: str, mangle: Callable[[dict[str, Any]], None]) -> None:
        """Serve the order's JSON through ``mangle`` (the kit's garbage check)."""
        self.orders[int(shop_order_id)].mangle = mangle

    def end_sessions(self) -> None:
        """Forget every session (a server restart or session expiry)."""
        self.sessions.clear()

    # -- HTTP ---------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        try:
            body = msgspec.json.decode(await request.body())
            operation = parse(str(body["query"]))
            variables = dict(body.get("variables") or {})
        except (msgspec.DecodeError, KeyError, TypeError, GqlSyntaxError) as exc:
            return self._answer(
                {
                    "errors": [
                        {"message": str(exc)[:200], "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}
                    ]
                },
                400,
            )
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        headers: dict[str, str] = {}
        for root in operation.fields:
            if operation.kind == "mutation":
                self.mutations.append(root.name)
            args = root.arguments(variables)
            if root.name == "login":
                data[root.key] = project(self._login(args, headers), root.selections)
                continue
            if not self._authorised(token) or root.name in self.forbidden:
                errors.append(
                    {
                        "message": "You are not currently authorized to perform this action",
                        "path": [root.key],
                        "extensions": {"code": "FORBIDDEN"},
                    }
                )
                return self._answer({"errors": errors, "data": None}, 200)
            handler = getattr(self, f"_{operation.kind}_{root.name}", None)
            if handler is None:
                return self._answer(
                    {
                        "errors": [
                            {
                                "message": f'Cannot query field "{root.name}"',
                                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
                            }
                        ]
                    },
                    400,
                )
            try:
                data[root.key] = project(handler(args, root), root.selections)
            except _UserInputError as exc:
                errors.append(
                    {
                        "message": str(exc),
                        "path": [root.key],
                        "extensions": {"code": "USER_INPUT_ERROR"},
                    }
                )
                return self._answer({"errors": errors, "data": None}, 200)
        return self._answer({"data": data}, 200, headers)

    def _answer(
        self, payload: dict[str, Any], status: int, headers: dict[str, str] | None = None
    ) -> Response:
        return Response(_ENCODE.encode(payload), status, headers, "application/json")

    def _login(self, args: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        if args.get("username") != self.username or args.get("password") != self.password:
            return {
                "__typename": "InvalidCredentialsError",
                "__implements": ["ErrorResult"],
                "errorCode": "INVALID_CREDENTIALS_ERROR",
                "message": "The provided credentials are invalid",
            }
        token = secrets.token_hex(20)
        self.sessions[token] = self.clock.now() + timedelta(seconds=self.session_seconds)
        headers["vendure-auth-token"] = token
        self.logins += 1
        return {"__typename": "CurrentUser", "id": "1", "identifier": self.username}

    def _authorised(self, token: str) -> bool:
        expires = self.sessions.get(token)
        return expires is not None and self.clock.now() < expires

    # -- queries ------------------------------------------------------------------------------

    def _query_orders(self, args: dict[str, Any], root: Field) -> dict[str, Any]:
        rows = [self._order_wire(o, root) for o in self.orders.values()]
        return _list(rows, args.get("options") or {})

    def _query_order(self, args: dict[str, Any], root: Field) -> dict[str, Any] | None:
        order = self.orders.get(int(args.get("id") or 0))
        return self._order_wire(order, root) if order else None

    def _query_productVariants(self, args: dict[str, Any], root: Field) -> dict[str, Any]:
        rows = [v.wire(self.currency) for v in self.variants.values()]
        return _list(rows, args.get("options") or {})

    def _query_activeChannel(self, args: dict[str, Any], root: Field) -> dict[str, Any]:
        return {
            "__typename": "Channel",
            "code": "__default_channel__",
            "defaultCurrencyCode": self.currency,
            "availableCurrencyCodes": [self.currency],
            "pricesIncludeTax": False,
            "defaultLanguageCode": "en",
            "defaultTaxZone": {"id": "1", "name": "Europe"},
        }

    def _query_globalSettings(self, args: dict[str, Any], root: Field) -> dict[str, Any]:
        return {
            "__typename": "GlobalSettings",
            "outOfStockThreshold": 0,
            "trackInventory": True,
            "serverConfig": {
                "orderProcess": [{"name": k, "to": v} for k, v in DEFAULT_PROCESS.items()]
            },
        }

    def _query_taxRates(self, args: dict[str, Any], root: Field) -> dict[str, Any]:
        rows = [
            {
                "id": rid,
                "value": float(rate),
                "enabled": True,
                "category": {"id": category},
                "zone": {"id": "1"},
            }
            for rid, rate, category in self.tax_rates
        ]
        return _list(rows, args.get("options") or {})

    def _product_wire(self, pid: int) -> dict[str, Any]:
        product = self.products[pid]
        return {
            "__typename": "Product",
            "id": str(pid),
            "slug": product["slug"],
            "name": product["name"],
            "enabled": product["enabled"],
            "variants": [
                v.wire(self.currency) for v in self.variants.values() if v.product_id == pid
            ],
        }

    def _query_product(self, args: dict[str, Any], root: Field) -> dict[str, Any] | None:
        for pid, product in self.products.items():
            if product["slug"] == args.get("slug") or str(pid) == str(args.get("id")):
                return self._product_wire(pid)
        return None

    def _mutation_createProduct(self, args: dict[str, Any], root: Field) -> Any:
        payload = args.get("input") or {}
        translation = (payload.get("translations") or [{}])[0]
        slug = str(translation.get("slug") or translation.get("name", "")).lower()
        if any(p["slug"] == slug for p in self.products.values()):
            slug = f"{slug}-{len(self.products) + 1}"  # Vendure makes slugs unique
        pid = self._next("product")
        self.products[pid] = {
            "slug": slug,
            "name": translation.get("name", ""),
            "enabled": bool(payload.get("enabled", True)),
        }
        return self._product_wire(pid)

    def _mutation_createProductVariants(self, args: dict[str, Any], root: Field) -> Any:
        out = []
        for payload in args.get("input") or []:
            pid = int(payload["productId"])
            siblings = [v for v in self.variants.values() if v.product_id == pid]
            if siblings and not payload.get("optionIds"):
                raise _UserInputError("A ProductVariant with the selected options already exists")
            rate = next(
                (r for _, r, c in self.tax_rates if c == str(payload.get("taxCategoryId", "1"))),
                Decimal(25),
            )
            translation = (payload.get("translations") or [{}])[0]
            vid = self._next("variant")
            variant = SimVariant(
                vid,
                str(payload["sku"]),
                str(translation.get("name", "")),
                int(payload.get("price") or 0),
                rate,
                int(payload.get("stockOnHand") or 0),
                updated_at=self.clock.now(),
                enabled=bool(payload.get("enabled", True)),
                product_id=pid,
            )
            self.variants[vid] = variant
            out.append(variant.wire(self.currency))
        return out

    def _order_wire(self, order: SimOrder, root: Field) -> dict[str, Any]:
        net, gross = order.totals()
        shipping_gross = _round(Decimal(order.shipping) * (1 + order.shipping_tax_rate / 100))
        wire: dict[str, Any] = {
            "__typename": "Order",
            "id": str(order.id),
            "code": order.code,
            "state": order.state,
            "active": False,
            "createdAt": _iso(order.created_at),
            "updatedAt": _iso(order.updated_at),
            "orderPlacedAt": _iso(order.placed_at),
            "currencyCode": self.currency,
            "total": net,
            "totalWithTax": gross,
            "customer": order.customer,
            "shippingAddress": order.address,
            "billingAddress": order.address,
            "lines": [
                {
                    "id": str(line.id),
                    "quantity": line.quantity,
                    "unitPrice": line.unit_price,
                    "unitPriceWithTax": line.gross(line.unit_price),
                    "linePrice": line.line_price,
                    "linePriceWithTax": line.gross(line.line_price),
                    "proratedLinePrice": line.prorated,
                    "proratedLinePriceWithTax": line.gross(line.prorated),
                    "taxRate": float(line.tax_rate),
                    "productVariant": {
                        "id": str(line.variant.id),
                        "sku": line.variant.sku,
                        "name": line.variant.name,
                    },
                }
                for line in order.lines
            ],
            "shippingLines": [
                {
                    "price": order.shipping,
                    "priceWithTax": shipping_gross,
                    "discountedPrice": order.shipping,
                    "discountedPriceWithTax": shipping_gross,
                    "shippingMethod": {"code": "standard-shipping", "name": "Standard Shipping"},
                }
            ]
            if order.shipping
            else [],
            "surcharges": [],
            "payments": order.payments,
            "fulfillments": [
                {
                    "__typename": "Fulfillment",
                    "id": str(f.id),
                    "state": f.state,
                    "method": f.method,
                    "trackingCode": f.tracking_code,
                    "lines": [{"orderLineId": str(a), "quantity": b} for a, b in f.lines],
                }
                for f in order.fulfilments
            ],
            "nextStates": DEFAULT_PROCESS.get(order.state, []),
        }
        history_field = next(
            (s for s in root.selections if isinstance(s, Field) and s.name == "history"), None
        )
        if history_field is not None:
            options = history_field.arguments({}).get("options") or {}
            entries = [{**e, "createdAt": _iso(e["createdAt"])} for e in order.history]
            wire["history"] = _list(entries, options)
        if order.mangle is not None:
            order.mangle(wire)
        return wire

    # -- mutations ----------------------------------------------------------------------------

    def _touch(self, order: SimOrder, entry_type: str, data: dict[str, Any]) -> None:
        now = self.clock.now()
        order.history.append(
            {
                "id": str(self._next("history")),
                "type": entry_type,
                "data": data,
                "isPublic": entry_type != "ORDER_NOTE",
                "createdAt": now,
            }
        )

    def _move(self, order: SimOrder, state: str) -> None:
        self._touch(order, "ORDER_STATE_TRANSITION", {"from": order.state, "to": state})
        order.state = state
        order.updated_at = self.clock.now()

    def _transition_error(self, order: SimOrder, state: str, why: str = "") -> dict[str, Any]:
        message = why or f'Cannot transition Order from "{order.state}" to "{state}"'
        return {
            "__typename": "OrderStateTransitionError",
            "__implements": ["ErrorResult"],
            "errorCode": "ORDER_STATE_TRANSITION_ERROR",
            "message": "Cannot transition Order to the requested state",
            "transitionError": message,
            "fromState": order.state,
            "toState": state,
        }

    def _order_or_none(self, value: Any) -> SimOrder | None:
        try:
            return self.orders.get(int(value))
        except (TypeError, ValueError):
            return None

    def _mutation_addNoteToOrder(self, args: dict[str, Any], root: Field) -> Any:
        payload = args.get("input") or {}
        order = self._order_or_none(payload.get("id"))
        if order is None:
            return None
        now = self.clock.now()
        order.history.append(
            {
                "id": str(self._next("history")),
                "type": "ORDER_NOTE",
                "data": {"note": str(payload.get("note", ""))},
                "isPublic": bool(payload.get("isPublic")),
                "createdAt": now,
            }
        )
        return self._order_wire(order, root)

    def _mutation_settlePayment(self, args: dict[str, Any], root: Field) -> Any:
        for order in self.orders.values():
            for payment in order.payments:
                if payment["id"] == str(args.get("id")):
                    if payment["state"] != "Authorized":
                        return {
                            "__typename": "PaymentStateTransitionError",
                            "__implements": ["ErrorResult"],
                            "errorCode": "PAYMENT_STATE_TRANSITION_ERROR",
                            "message": f'Cannot transition from "{payment["state"]}" to "Settled"',
                        }
                    payment["state"] = "Settled"
                    self._touch(
                        order,
                        "ORDER_PAYMENT_TRANSITION",
                        {"paymentId": payment["id"], "from": "Authorized", "to": "Settled"},
                    )
                    if order.state == "PaymentAuthorized":
                        self._move(order, "PaymentSettled")
                    return {"__typename": "Payment", **payment}
        return None

    def _mutation_addFulfillmentToOrder(self, args: dict[str, Any], root: Field) -> Any:
        payload = args.get("input") or {}
        wanted = [(int(x["orderLineId"]), int(x["quantity"])) for x in payload.get("lines", [])]
        order = (
            next(
                (
                    o
                    for o in self.orders.values()
                    if any(line.id == wanted[0][0] for line in o.lines)
                ),
                None,
            )
            if wanted
            else None
        )
        if order is None:
            return {
                "__typename": "EmptyOrderLineSelectionError",
                "__implements": ["ErrorResult"],
                "errorCode": "EMPTY_ORDER_LINE_SELECTION_ERROR",
                "message": "At least one OrderLine must be specified",
            }
        done: dict[int, int] = {}
        for fulfilment in order.fulfilments:
            if fulfilment.state != "Cancelled":
                for line_id, quantity in fulfilment.lines:
                    done[line_id] = done.get(line_id, 0) + quantity
        for line_id, quantity in wanted:
            line = next((x for x in order.lines if x.id == line_id), None)
            if line is None or done.get(line_id, 0) + quantity > line.quantity:
                return {
                    "__typename": "ItemsAlreadyFulfilledError",
                    "__implements": ["ErrorResult"],
                    "errorCode": "ITEMS_ALREADY_FULFILLED_ERROR",
                    "message": "One or more OrderItems are already fulfilled",
                }
        handler = payload.get("handler") or {}
        arguments = {a["name"]: a["value"] for a in handler.get("arguments", [])}
        fulfilment = SimFulfilment(
            self._next("fulfilment"),
            "Pending",
            arguments.get("method", ""),
            arguments.get("trackingCode", ""),
            wanted,
        )
        order.fulfilments.append(fulfilment)
        order.updated_at = self.clock.now()
        return {
            "__typename": "Fulfillment",
            "__implements": [],
            "id": str(fulfilment.id),
            "state": fulfilment.state,
            "method": fulfilment.method,
            "trackingCode": fulfilment.tracking_code,
        }

    def _mutation_transitionFulfillmentToState(self, args: dict[str, Any], root: Field) -> Any:
        target = str(args.get("state"))
        for order in self.orders.values():
            for fulfilment in order.fulfilments:
                if str(fulfilment.id) != str(args.get("id")):
                    continue
                if target not in _FULFILMENT.get(fulfilment.state, []):
                    return self._fulfilment_error(fulfilment, target, "")
                if (
                    target in ("Shipped", "Delivered")
                    and target not in DEFAULT_PROCESS.get(order.state, [])
                    and order.state != target
                ):
                    why = f'Cannot transition Order from "{order.state}" to "{target}"'
                    return self._fulfilment_error(fulfilment, target, why)
                fulfilment.state = target
                order.updated_at = self.clock.now()
                self._follow_fulfilments(order)
                return {
                    "__typename": "Fulfillment",
                    "id": str(fulfilment.id),
                    "state": target,
                    "method": fulfilment.method,
                    "trackingCode": fulfilment.tracking_code,
                }
        return None

    def _fulfilment_error(self, fulfilment: SimFulfilment, target: str, why: str) -> Any:
        return {
            "__typename": "FulfillmentStateTransitionError",
            "__implements": ["ErrorResult"],
            "errorCode": "FULFILLMENT_STATE_TRANSITION_ERROR",
            "message": "Cannot transition the Fulfillment to the requested state",
            "transitionError": why
            or f'Cannot transition Fulfillment from "{fulfilment.state}" to "{target}"',
        }

    def _follow_fulfilments(self, order: SimOrder) -> None:
        """Vendure moves the order on when all its items are shipped or delivered."""
        counts: dict[str, dict[int, int]] = {"Shipped": {}, "Delivered": {}}
        for fulfilment in order.fulfilments:
            if fulfilment.state in ("Shipped", "Delivered"):
                for line_id, quantity in fulfilment.lines:
                    for state in ("Shipped", "Delivered"):
                        if state == "Shipped" or fulfilment.state == "Delivered":
                            counts[state][line_id] = counts[state].get(line_id, 0) + quantity
        for state in ("Delivered", "Shipped"):
            if all(counts[state].get(line.id, 0) >= line.quantity for line in order.lines):
                if order.state != state and state in DEFAULT_PROCESS.get(order.state, []):
                    self._move(order, state)
                return

    def _mutation_transitionOrderToState(self, args: dict[str, Any], root: Field) -> Any:
        order = self._order_or_none(args.get("id"))
        if order is None:
            return None
        state = str(args.get("state"))
        if state not in DEFAULT_PROCESS.get(order.state, []):
            return self._transition_error(order, state)
        if state in ("Shipped", "Delivered", "PartiallyShipped", "PartiallyDelivered"):
            return self._transition_error(
                order,
                state,
                f'Cannot transition Order to the "{state}" state unless all '
                "OrderItems are fulfilled",
            )
        if state == "PaymentSettled" and any(p["state"] != "Settled" for p in order.payments):
            return self._transition_error(
                order,
                state,
                'Cannot transition Order to the "PaymentSettled" state when the '
                "total is not covered by settled Payments",
            )
        self._move(order, state)
        return self._order_wire(order, root)

    def _mutation_cancelOrder(self, args: dict[str, Any], root: Field) -> Any:
        payload = args.get("input") or {}
        order = self._order_or_none(payload.get("orderId"))
        if order is None:
            return None
        if order.state == "Cancelled":
            return {
                "__typename": "AlreadyRefundedError",
                "__implements": ["ErrorResult"],
                "errorCode": "CANCEL_ACTIVE_ORDER_ERROR",
                "message": "The order is already cancelled",
            }
        for line in order.lines:
            line.variant.stock_allocated = max(0, line.variant.stock_allocated - line.quantity)
        self._move(order, "Cancelled")
        return self._order_wire(order, root)

    def _mutation_updateProductVariants(self, args: dict[str, Any], root: Field) -> Any:
        out: list[dict[str, Any] | None] = []
        for payload in args.get("input") or []:
            variant = self.variants.get(int(payload.get("id") or 0))
            if variant is None:
                out.append(None)
                continue
            if "stockOnHand" in payload:
                variant.stock_on_hand = int(payload["stockOnHand"])
            if "enabled" in payload:
                variant.enabled = bool(payload["enabled"])
            for translation in payload.get("translations") or []:
                variant.name = str(translation.get("name", variant.name))
            if "price" in payload:
                variant.price = int(payload["price"])
            for price in payload.get("prices") or []:
                if price.get("currencyCode") == self.currency:
                    variant.price = int(price["price"])
            variant.updated_at = self.clock.now()
            out.append(variant.wire(self.currency))
        return out


# -- list options ------------------------------------------------------------------------------


def _matches(value: Any, operators: dict[str, Any]) -> bool:
    for op, arg in operators.items():
        if op == "isNull":
            if (value is None) != bool(arg):
                return False
            continue
        if value is None:
            return False
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT.*Z", value):
            left: Any = _parse_time(value)
            convert: Callable[[Any], Any] = lambda x: _parse_time(str(x))  # noqa: E731
        else:
            left, convert = value, lambda x: x
        if op == "eq" and left != convert(arg):
            return False
        if op == "notEq" and left == convert(arg):
            return False
        if op == "in" and left not in [convert(a) for a in arg]:
            return False
        if op == "notIn" and left in [convert(a) for a in arg]:
            return False
        if op == "before" and not left < convert(arg):
            return False
        if op == "after" and not left > convert(arg):
            return False
        if op == "between" and not convert(arg["start"]) <= left <= convert(arg["end"]):
            return False
        if op == "contains" and str(arg).lower() not in str(left).lower():
            return False
    return True


def _list(rows: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
    take = options.get("take")
    if take is not None and int(take) > 1000:
        raise GqlSyntaxError("take cannot exceed 1000")
    for name, operators in (options.get("filter") or {}).items():
        rows = [r for r in rows if _matches(r.get(name), operators or {})]
    for name, direction in reversed(list((options.get("sort") or {}).items())):

        def key(row: dict[str, Any], name: str = name) -> Any:
            value = row.get(name)
            if name == "id" or (isinstance(value, str) and value.isdigit()):
                return int(value or 0)
            return value or ""

        rows = sorted(rows, key=key, reverse=direction == "DESC")
    total = len(rows)
    skip = int(options.get("skip") or 0)
    rows = rows[skip : skip + int(take)] if take is not None else rows[skip:]
    return {"__typename": "PaginatedList", "items": rows, "totalItems": total}
