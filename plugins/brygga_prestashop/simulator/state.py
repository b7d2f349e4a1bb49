"""In-memory state of the PrestaShop simulator: resource tables in native shapes.

Rows are dicts of strings as PrestaShop stores them (decimals with 6 places, dates
``YYYY-MM-DD HH:MM:SS`` in shop-local time, §3.5/§3.7); a language field is
``{language id: text}``; associations sit under ``"associations"``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from brygga.clock import Clock
from brygga_prestashop.simulator.query import WsError
from brygga_prestashop.simulator.seed import CARRIERS, COUNTRIES, ORDER_STATES, PRODUCTS, TAXES

__all__ = ["HistoryRecord", "Knobs", "ShopState", "StateChange", "money", "slug"]

Row = dict[str, Any]
CENT = Decimal("0.01")
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def money(value: Decimal) -> str:
    """A decimal as PrestaShop stores it: six places (DECIMAL(20,6))."""
    return f"{value.quantize(Decimal('0.000001'), rounding=ROUND_HALF_UP)}"


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def slug(name: str) -> str:
    """brygga's status code for a state name ("Payment accepted" → "payment-accepted")."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


@dataclass(frozen=True)
class HistoryRecord:
    """One ``POST /order_histories``: the order, the state, whether ``sendemail=1`` was given
    and whether the customer was e-mailed (the state's ``send_email`` too) [PS6]."""

    order_id: int
    state_id: int
    sendemail: bool
    email_sent: bool


@dataclass(frozen=True)
class StateChange:
    """One state an order entered (at checkout, in the back office or through the
    Webservice), with what PrestaShop did on it (``OrderHistory::changeIdOrderState``)."""

    #: the state's code (slug of its name, e.g. ``shipped``)
    status: str
    #: "checkout", "back office" or "webservice"
    via: str
    #: the customer was e-mailed (``sendemail=1`` and the state's ``send_email``)
    email_sent: bool
    #: "captured" when PrestaShop recorded the order's payment on this change: a state with
    #: ``paid`` 1 reached while part of the total is unpaid (an ``OrderPayment`` for the rest,
    #: ``total_paid_real`` raised); else ""
    payment_action: str


@dataclass
class Knobs:
    """Settings tests may change at any time (hostile-server behaviour)."""

    #: "8" (PATCH allowed) or "1.7" (PATCH is 405)
    version: str = "8"
    #: an empty list comes back as ``[]``, not ``{"orders": []}`` (§3.5, [PS17])
    empty_list_quirk: bool = True
    #: (resource, id) → edits the emitted row (garbage-payload tests)
    manglers: dict[tuple[str, int], Callable[[Row], None]] = field(default_factory=dict)
    #: the key's status in Advanced parameters > Webservice: off is 401 codes 20 and 21
    key_active: bool = True
    #: resources the key is not granted: 401 code 26 (``checkResource`` [PS1])
    denied_resources: set[str] = field(default_factory=set)


class ShopState:
    """Every table of one simulated shop, id counters and the shop's clock."""

    def __init__(self, clock: Clock, *, languages: int = 1, seed_catalog: bool = True) -> None:
        self.clock = clock
        self.languages = tuple(range(1, languages + 1))
        self.tables: dict[str, dict[int, Row]] = {}
        self.histories: list[HistoryRecord] = []
        #: order id → every state it entered, in order
        self.changes: dict[int, list[StateChange]] = {}
        self._next: dict[str, int] = {}
        self._seed(seed_catalog)

    # -- basics -------------------------------------------------------------------------

    def now(self) -> str:
        """Shop-local time without offset, whole seconds (§3.7 [inferred])."""
        local = self.clock.now().astimezone(STOCKHOLM)
        return local.strftime("%Y-%m-%d %H:%M:%S")

    def table(self, name: str) -> dict[int, Row]:
        return self.tables.setdefault(name, {})

    def new_id(self, name: str) -> int:
        table = self.table(name)
        start = self._next.get(name, max(table, default=0) + 1)
        self._next[name] = start + 1
        return start

    def insert(self, name: str, row: Row) -> int:
        row_id = self.new_id(name)
        self.table(name)[row_id] = {"id": str(row_id), **row}
        return row_id

    def get(self, name: str, row_id: int) -> Row:
        row = self.table(name).get(row_id)
        if row is None:
            raise WsError(404, 87, f"Id(s) not exists: {row_id}")
        return row

    def lang(self, text: str) -> dict[int, str]:
        return dict.fromkeys(self.languages, text)

    def touch(self, name: str, row_id: int) -> None:
        row = self.get(name, row_id)
        if "date_upd" in row:
            row["date_upd"] = self.now()

    # -- seed ---------------------------------------------------------------------------

    def _seed(self, catalog: bool) -> None:
        now = self.now()
        self.table("currencies")[1] = {
            "id": "1",
            "iso_code": "SEK",
            "name": "Svensk krona",
            "conversion_rate": "1.000000",
            "active": "1",
        }
        for cid, (iso, name) in COUNTRIES.items():
            self.table("countries")[cid] = {
                "id": str(cid),
                "iso_code": iso,
                "active": "1",
                "name": self.lang(name),
            }
        for tid, (rate, name) in TAXES.items():
            self.table("taxes")[tid] = {
                "id": str(tid),
                "rate": f"{rate}",
                "active": "1",
                "deleted": "0",
                "name": self.lang(name),
            }
        for tid, (rate, _name) in TAXES.items():  # one group per tax, a rule per country
            self.table("tax_rule_groups")[tid] = {
                "id": str(tid),
                "name": f"SE Standard Rate ({rate:g}%)",
                "active": "1",
                "deleted": "0",
                "date_add": now,
                "date_upd": now,
            }
            for cid in COUNTRIES:
                self.insert(
                    "tax_rules",
                    {
                        "id_tax_rules_group": str(tid),
                        "id_state": "0",
                        "id_country": str(cid),
                        "zipcode_from": "0",
                        "zipcode_to": "0",
                        "id_tax": str(tid),
                        "behavior": "0",
                        "description": "",
                    },
                )
        for carrier_id, name in CARRIERS.items():
            self.table("carriers")[carrier_id] = {
                "id": str(carrier_id),
                "name": name,
                "active": "1",
                "deleted": "0",
                "is_free": "0",
                "delay": self.lang("1-3 dagar"),
            }
        for gid, name in ((1, "Visitor"), (2, "Guest"), (3, "Customer")):
            self.table("groups")[gid] = {
                "id": str(gid),
                "reduction": "0.00",
                "price_display_method": "0",
                "show_prices": "1",
                "name": self.lang(name),
            }
        for sid, (name, paid, shipped, delivery, logable, mail) in ORDER_STATES.items():
            flag = {True: "1", False: "0"}
            self.table("order_states")[sid] = {
                "id": str(sid),
                "unremovable": "1",
                "delivery": flag[delivery],
                "hidden": "0",
                "send_email": flag[mail],
                "module_name": "",
                "invoice": flag[paid],
                "color": "#32CD32",
                "logable": flag[logable],
                "shipped": flag[shipped],
                "paid": flag[paid],
                "pdf_delivery": "0",
                "pdf_invoice": "0",
                "deleted": "0",
                "name": self.lang(name),
                "template": self.lang(slug(name)),
            }
        if catalog:
            for product in PRODUCTS:
                self.add_product(
                    product.reference,
                    product.name,
                    product.price,
                    product.vat_rate,
                    product.combinations,
                    now=now,
                )

    def tax_rules_group(self, rate: Decimal) -> int:
        """The tax rules group of a rate (one group per tax here: id = tax id)."""
        for tid, row in self.table("taxes").items():
            if Decimal(row["rate"]) == rate:
                return tid
        raise KeyError(f"no simulated tax with rate {rate}")

    def add_product(
        self,
        reference: str,
        name: str,
        price: Decimal,
        vat_rate: Decimal,
        combinations: tuple[tuple[str, Decimal], ...] = (),
        *,
        now: str | None = None,
        quantity: int = 100,
    ) -> int:
        """A product (and its combinations, each with a stock row) as the back office makes it."""
        now = now or self.now()
        pid = self.insert(
            "products",
            {
                "id_manufacturer": "0",
                "id_default_combination": "0",
                "id_tax_rules_group": str(self.tax_rules_group(vat_rate)),
                "reference": reference,
                "ean13": "",
                "mpn": "",
                "price": money(price),
                "wholesale_price": "0.000000",
                "active": "1",
                "quantity": "0",
                "date_add": now,
                "date_upd": now,
                "name": self.lang(name),
                "description": self.lang(""),
                "link_rewrite": self.lang(slug(name)),
                "associations": {"combinations": [], "stock_availables": []},
            },
        )
        product = self.get("products", pid)
        stock = product["associations"]["stock_availables"]
        stock.append(
            {
                "id": str(self._stock_row(pid, 0, 0 if combinations else quantity)),
                "id_product_attribute": "0",
            }
        )
        for index, (ref, impact) in enumerate(combinations):
            cid = self.insert(
                "combinations",
                {
                    "id_product": str(pid),
                    "reference": ref,
                    "ean13": "",
                    "mpn": "",
                    "price": money(impact),
                    "wholesale_price": "0.000000",
                    "unit_price_impact": "0.000000",
                    "weight": "0.000000",
                    "minimal_quantity": "1",
                    "default_on": "1" if index == 0 else "",
                    "quantity": "0",
                },
            )
            product["associations"]["combinations"].append({"id": str(cid)})
            stock.append(
                {"id": str(self._stock_row(pid, cid, quantity)), "id_product_attribute": str(cid)}
            )
        if combinations:
            product["id_default_combination"] = product["associations"]["combinations"][0]["id"]
            self.recompute_product_stock(pid)
        return pid

    def _stock_row(self, pid: int, attribute: int, quantity: int) -> int:
        return self.insert(
            "stock_availables",
            {
                "id_product": str(pid),
                "id_product_attribute": str(attribute),
                "id_shop": "1",
                "id_shop_group": "0",
                "quantity": str(quantity),
                "depends_on_stock": "0",
                "out_of_stock": "2",
                "location": "",
            },
        )

    def created(self, name: str, row_id: int) -> None:
        """What the shop does after a webservice POST: a new product gets its stock row and
        empty associations; a new combination joins its product with a stock row of its own
        (the product-level row becoming their sum, [PS7])."""
        row = self.get(name, row_id)
        if name == "products":
            row["associations"] = {"combinations": [], "stock_availables": []}
            self._stock_row(row_id, 0, 0)
        elif name == "combinations":
            pid = int(row["id_product"] or 0)
            product = self.get("products", pid)
            product.setdefault("associations", {}).setdefault("combinations", []).append(
                {"id": str(row_id)}
            )
            self._stock_row(pid, row_id, 0)
            self.recompute_product_stock(pid)
            product["date_upd"] = self.now()

    def recompute_product_stock(self, pid: int) -> None:
        """The product-level row is the sum of its combinations' rows (``postSave`` [PS7])."""
        rows = [r for r in self.table("stock_availables").values() if r["id_product"] == str(pid)]
        combos = [r for r in rows if r["id_product_attribute"] != "0"]
        if not combos:
            return
        total = sum(int(r["quantity"] or 0) for r in combos)
        for row in rows:
            if row["id_product_attribute"] == "0":
                row["quantity"] = str(total)

    # -- order status -------------------------------------------------------------------

    def change_state(self, order_id: int, state_id: int, *, sendemail: bool) -> Row:
        """``OrderHistory::addWs``: the order gets the state; mail only with ``sendemail``."""
        self.get("orders", order_id)  # 404 for an unknown order
        state = self.table("order_states").get(state_id)
        if state is None:
            raise WsError(400, 85, f'Validation error: "id_order_state" {state_id} is invalid')
        email_sent = sendemail and state["send_email"] == "1"
        self.enter_state(order_id, state_id, via="webservice", email_sent=email_sent)
        self.histories.append(HistoryRecord(order_id, state_id, sendemail, email_sent))
        return {
            "id_employee": "0",
            "id_order_state": str(state_id),
            "id_order": str(order_id),
            "date_add": self.now(),
        }

    def enter_state(self, order_id: int, state_id: int, *, via: str, email_sent: bool) -> None:
        """The order gets the state; a ``paid`` state records the payment of what is still
        unpaid (``changeIdOrderState``: an ``OrderPayment`` per invoice with a rest to pay)."""
        order = self.get("orders", order_id)
        state = self.get("order_states", state_id)
        order["current_state"] = str(state_id)
        order["valid"] = state["logable"]
        order["date_upd"] = self.now()
        action = ""
        total, real = Decimal(order["total_paid_tax_incl"]), Decimal(order["total_paid_real"])
        if state["paid"] == "1" and real < total:
            self.insert(
                "order_payments",
                {
                    "order_reference": order["reference"],
                    "id_currency": order["id_currency"],
                    "amount": money(total - real),
                    "payment_method": order["payment"],
                    "date_add": self.now(),
                },
            )
            order["total_paid_real"] = money(total)
            action = "captured"
        code = slug(next(iter(state["name"].values()), "")) or str(state_id)
        self.changes.setdefault(order_id, []).append(StateChange(code, via, email_sent, action))

    def state_by_code(self, code: str) -> int:
        for sid, row in self.table("order_states").items():
            name = next(iter(row["name"].values()), "")
            if code in (str(sid), slug(name)):
                return sid
        raise KeyError(f"no simulated order state {code!r}")


def local_to_utc(text: str) -> datetime:
    """A shop-local timestamp as aware UTC (for the control surface)."""
    from datetime import UTC

    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=STOCKHOLM).astimezone(UTC)
