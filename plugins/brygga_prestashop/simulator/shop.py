"""A PrestaShop Webservice simulator (ASGI) with the control surface tests and the demo drive.

It speaks the Webservice as reference/shop-apis.md §3 documents it (see
:mod:`~brygga_prestashop.simulator.http` and :mod:`~brygga_prestashop.simulator.query`).
Where the reference is silent the simulator chooses, and the adapter must not rely on more:

- The key is 32 characters; an unknown or deactivated one is 401 codes 20 and 21, a
  resource it is not granted 401 code 26 (§3.1; ``set_key``, ``knobs.key_active``,
  ``knobs.denied_resources``).
- An empty list is ``[]`` by default (``empty_list_quirk``), as older versions answer.
- Order totals are rounded per line (``round_type`` 2); freight is at 25 %; a percent
  discount becomes one ``order_cart_rules`` row for the whole order.
- The order's ``shipping_number`` reads the order carrier's ``tracking_number``, and a
  tracking write bumps the order's ``date_upd``; ``order_histories`` POST bumps it too.
- ``messages`` rows with ``private`` 1 are the merchant's private order notes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.routing import Route

from brygga.clock import Clock, SystemClock
from brygga.testing.simulators import Asgi, FaultInjector, Receive, Scope, Send, ShopSimulator
from brygga_prestashop.simulator.http import Webservice
from brygga_prestashop.simulator.orders import Checkout, place
from brygga_prestashop.simulator.state import (
    HistoryRecord,
    Knobs,
    Row,
    ShopState,
    StateChange,
    slug,
)

__all__ = ["MARK_PREFIX", "PrestashopSimulator"]

#: the private order message the adapter writes by default (``mark_prefix``)
MARK_PREFIX = "brygga ERP document: "
DEFAULT_STATE = 2  # Payment accepted


class PrestashopSimulator:
    """One simulated PrestaShop shop: in-memory state, an ASGI app, knobs for hostile tests.

    ``requests`` logs every request that reached the app as ``(method, path)`` (path after
    ``/api``); ``ws.log`` keeps the query too. ``version`` "8" allows PATCH, "1.7" not.
    """

    kind = "prestashop"

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int = 0,
        version: str = "8",
        languages: int = 1,
        seed_catalog: bool = True,
        shops: Sequence[int] = (1,),
        empty_list_quirk: bool = True,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.faults = FaultInjector(seed=seed)
        rng = random.Random(seed)
        self.key = "".join(rng.choice("ABCDEFGHIJKLMNPQRSTUVWXYZ123456789") for _ in range(32))
        self.state = ShopState(self.clock, languages=languages, seed_catalog=seed_catalog)
        self.knobs = Knobs(version=version, empty_list_quirk=empty_list_quirk)
        # the order of a list asked for without ``sort``: its own seeded source (§3.4)
        self.ws = Webservice(
            self.state,
            self.knobs,
            self.key,
            tuple(shops),
            random.Random(f"prestashop-list-order-{seed}"),
        )
        self.requests: list[tuple[str, str]] = []
        self._starlette = Starlette(
            routes=[
                Route("/api", self.ws.handle, methods=["GET", "HEAD"]),
                Route(
                    "/api/{path:path}",
                    self.ws.handle,
                    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
                ),
            ]
        )
        self._app = self.faults.wrap(self._gate)

    @property
    def app(self) -> Asgi:
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    async def _gate(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            self.requests.append((scope["method"], path.removeprefix("/api") or "/"))
            query = scope.get("query_string", b"").decode("latin-1")
            self.ws.log.append((scope["method"], path, query))
        await self._starlette(scope, receive, send)

    def set_key(self, key: str) -> None:
        """The shop's administrator regenerates the webservice key: the old one is unknown
        from now on (401 codes 20 and 21)."""
        self.key = self.ws.key = key

    # -- the ShopSimulator control surface ------------------------------------------------

    def adapter_config(self, base_url: str, *, name: str = "") -> dict[str, Any]:
        """``base_url`` is the shop root (the adapter appends ``/api``); a URL ending in
        ``/api/v2`` (the harness's Starweb-style default) is taken as the shop root."""
        root = base_url.removesuffix("/api/v2").removesuffix("/api").rstrip("/")
        return {
            "kind": self.kind,
            "name": name,
            "base_url": root,
            "key": self.key,
            "version": self.knobs.version,
        }

    def catalog_skus(self) -> list[str]:
        skus = [c["reference"] for c in self.state.table("combinations").values()]
        with_combos = {c["id_product"] for c in self.state.table("combinations").values()}
        skus += [
            p["reference"]
            for p in self.state.table("products").values()
            if p["id"] not in with_combos
        ]
        return sorted(skus, key=lambda s: (s.startswith("TROJA"), s))

    def place_order(
        self,
        *,
        lines: Sequence[tuple[str, int]],
        email: str,
        status: str | None = None,
        freight: Decimal = Decimal(0),
        discount_percent: Decimal = Decimal(0),
        company: str = "",
        vat_number: str = "",
        name: str = "",
        guest: bool = False,
        id_shop: int = 1,
    ) -> str:
        """Place an order for catalog references; ``status`` is a state id or its code
        (slug of its name, e.g. ``payment-accepted``, the default)."""
        state_id = self.state.state_by_code(status) if status else DEFAULT_STATE
        checkout = Checkout(
            lines=lines,
            email=email,
            state_id=state_id,
            freight=freight,
            discount_percent=discount_percent,
            company=company,
            vat_number=vat_number,
            name=name,
            guest=guest,
            id_shop=id_shop,
        )
        order_id = place(self.state, checkout)
        # validateOrder: the first state through changeIdOrderState (a paid one records the
        # payment); the confirmation mail is not a state change's e-mail
        self.state.enter_state(order_id, state_id, via="checkout", email_sent=False)
        return str(order_id)

    def _order(self, shop_order_id: str) -> Row:
        order = self.state.table("orders").get(int(shop_order_id))
        if order is None:
            raise KeyError(f"no simulated order {shop_order_id}")
        return order

    def set_status(self, shop_order_id: str, status: str) -> None:
        """Change the state as a merchant in the back office would (no history e-mail)."""
        order = self._order(shop_order_id)
        state_id = self.state.state_by_code(status)
        self.state.enter_state(int(order["id"]), state_id, via="back office", email_sent=False)

    def status_changes(self, shop_order_id: str) -> list[StateChange]:
        """Every state the order entered (checkout first), each with whether the customer was
        e-mailed and ``payment_action`` "captured" where PrestaShop recorded its payment."""
        return list(self.state.changes.get(int(self._order(shop_order_id)["id"]), []))

    def payments(self, shop_order_id: str) -> list[Row]:
        """The order's payments (``order_payments`` rows, linked by the order reference)."""
        reference = self._order(shop_order_id)["reference"]
        return [
            p
            for p in self.state.table("order_payments").values()
            if p["order_reference"] == reference
        ]

    def order_status(self, shop_order_id: str) -> str:
        state = self.state.get("order_states", int(self._order(shop_order_id)["current_state"]))
        return slug(next(iter(state["name"].values())))

    def order_total(self, shop_order_id: str) -> tuple[Decimal, Decimal]:
        order = self._order(shop_order_id)
        incl, excl = Decimal(order["total_paid_tax_incl"]), Decimal(order["total_paid_tax_excl"])
        cent = Decimal("0.01")
        return incl.quantize(cent), (incl - excl).quantize(cent)

    def exported_document(self, shop_order_id: str, prefix: str = MARK_PREFIX) -> str | None:
        notes = [
            m["message"]
            for m in self.state.table("messages").values()
            if m["id_order"] == shop_order_id
            and m["private"] == "1"
            and m["message"].startswith(prefix)
        ]
        return notes[-1][len(prefix) :] if notes else None

    def messages(self, shop_order_id: str) -> list[str]:
        return [
            m["message"]
            for m in self.state.table("messages").values()
            if m["id_order"] == shop_order_id
        ]

    def order_ids(self) -> list[str]:
        return [str(i) for i in sorted(self.state.table("orders"))]

    # -- knobs for tests ----------------------------------------------------------------

    def histories(self, shop_order_id: str) -> list[HistoryRecord]:
        """``order_histories`` POSTs for the order: state, ``sendemail`` and mail sent."""
        return [h for h in self.state.histories if h.order_id == int(shop_order_id)]

    def touch(self, shop_order_id: str) -> None:
        self._order(shop_order_id)["date_upd"] = self.state.now()

    def order(self, shop_order_id: str) -> Row:
        return self._order(shop_order_id)

    def mangle(self, resource: str, row_id: int | str, fn: Callable[[Row], None]) -> None:
        """Let ``fn`` edit the JSON of that row before every response that carries it."""
        self.knobs.manglers[(resource, int(row_id))] = fn

    def mangle_order(self, shop_order_id: str, fn: Callable[[dict[str, Any]], None]) -> None:
        self.mangle("orders", shop_order_id, fn)

    def details(self, shop_order_id: str) -> list[Row]:
        return [
            d for d in self.state.table("order_details").values() if d["id_order"] == shop_order_id
        ]

    def stock(self, reference: str) -> int:
        """The quantity of the stock row of a combination or product reference."""
        for combo in self.state.table("combinations").values():
            if combo["reference"] == reference:
                return self._stock_of(combo["id_product"], combo["id"])
        for product in self.state.table("products").values():
            if product["reference"] == reference:
                return self._stock_of(product["id"], "0")
        raise KeyError(reference)

    def add_stock_row(
        self, reference: str, *, id_shop: int, id_shop_group: int = 0, quantity: int = 0
    ) -> int:
        """Another ``stock_availables`` row for a reference, as multishop keeps one per shop
        (``id_shop`` N, ``id_shop_group`` 0) or one per shop group sharing its stock
        (``id_shop`` 0, ``id_shop_group`` G) [PS7]; its id."""
        pid, attribute = self._stock_key(reference)
        return self.state.insert(
            "stock_availables",
            {
                "id_product": pid,
                "id_product_attribute": attribute,
                "id_shop": str(id_shop),
                "id_shop_group": str(id_shop_group),
                "quantity": str(quantity),
                "depends_on_stock": "0",
                "out_of_stock": "2",
                "location": "",
            },
        )

    def stock_rows(self, reference: str) -> list[Row]:
        """Every stock row of a combination or product reference (any shop)."""
        pid, attribute = self._stock_key(reference)
        return [
            r
            for r in self.state.table("stock_availables").values()
            if r["id_product"] == pid and r["id_product_attribute"] == attribute
        ]

    def _stock_key(self, reference: str) -> tuple[str, str]:
        for combo in self.state.table("combinations").values():
            if combo["reference"] == reference:
                return combo["id_product"], combo["id"]
        for product in self.state.table("products").values():
            if product["reference"] == reference:
                return product["id"], "0"
        raise KeyError(reference)

    def add_order_carrier(self, shop_order_id: str, id_carrier: int) -> int:
        """Another ``order_carriers`` row for the order (a carrier changed or split in the
        back office); the order's ``id_carrier`` is left as it is. Its id."""
        order = self._order(shop_order_id)
        return self.state.insert(
            "order_carriers",
            {
                "id_order": order["id"],
                "id_carrier": str(id_carrier),
                "id_order_invoice": "0",
                "weight": "0.000000",
                "shipping_cost_tax_excl": "0.000000",
                "shipping_cost_tax_incl": "0.000000",
                "tracking_number": "",
                "date_add": self.state.now(),
            },
        )

    def order_carriers(self, shop_order_id: str) -> list[Row]:
        return [
            c
            for c in self.state.table("order_carriers").values()
            if c["id_order"] == self._order(shop_order_id)["id"]
        ]

    def _stock_of(self, pid: str, attribute: str) -> int:
        for row in self.state.table("stock_availables").values():
            if row["id_product"] == pid and row["id_product_attribute"] == attribute:
                return int(row["quantity"] or 0)
        raise KeyError((pid, attribute))


if TYPE_CHECKING:  # mypy checks that the control surface matches the shared protocol
    _conforms: ShopSimulator = PrestashopSimulator()
