"""A Fortnox API v3 simulator: an ASGI app over in-memory state, with faults.

What it speaks (reference/erp-apis.md §2, §8 "Fortnox fake"): the OAuth2 token endpoint with
1 h access tokens and single-use rotating refresh tokens (:mod:`.oauth`); bearer tokens and
the 25-per-5-seconds sliding window with 429 (:mod:`.gate`); wrapped JSON, ``page``/``limit``
paging with ``MetaInformation``, substring search, one ``filter``, ``lastmodified`` (its
zone a constructor choice, Stockholm by default: undocumented) (:mod:`.http`); customers,
articles (list items with string-typed prices, as the spec says), invoices and orders with
their actions (:mod:`.documents`), price lists and prices,
invoice payments (listed by ``lastmodified``; whether a payment moves its invoice's
``lastmodified`` is undocumented, so it does not unless ``payment_touches_invoice``), the
warehouse stock balance; ``ErrorInformation`` errors (:mod:`.errors`);
the request log and fault injection of every brygga simulator. WebSocket topics are not
simulated. The wire models are its own: nothing here imports the adapter.
"""

from __future__ import annotations

from datetime import tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from brygga.clock import Clock, SystemClock
from brygga.models import OrderEvent
from brygga.testing.simulators import (
    ErpSimulator,
    FaultInjector,
    FaultWrapped,
    SimulatedDocument,
    StatusErpSimulator,
)
from brygga_fortnox.simulator import seed
from brygga_fortnox.simulator.events import apply_event
from brygga_fortnox.simulator.gate import TOKEN_PATH, Gate
from brygga_fortnox.simulator.oauth import OAuth
from brygga_fortnox.simulator.records import create_article, create_customer, update_article
from brygga_fortnox.simulator.routes import build_app
from brygga_fortnox.simulator.state import SimState

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "FortnoxSimulator"]

CLIENT_ID = "sim-fortnox-client-id"
CLIENT_SECRET = "sim-fortnox-client-secret"
#: the documented limit: 25 requests per 5 s sliding window (reference §2.4)
DOCUMENTED_RATE_LIMIT = (25, 5.0)


class FortnoxSimulator(FaultWrapped):
    """The Fortnox simulator and its control surface (``brygga.testing.ErpSimulator``)."""

    kind = "fortnox"

    def __init__(
        self,
        *,
        seed_catalog: bool = True,
        rate_limit: tuple[int, float] | None = DOCUMENTED_RATE_LIMIT,
        faults: FaultInjector | None = None,
        clock: Clock | None = None,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        lastmodified_zone: tzinfo | None = None,
        payment_touches_invoice: bool = False,
    ) -> None:
        self.clock = clock or SystemClock()
        self.faults = faults if faults is not None else FaultInjector()
        self.state = SimState(clock=self.clock, payment_touches_invoice=payment_touches_invoice)
        if lastmodified_zone is not None:
            self.state.lastmodified_zone = lastmodified_zone
        self.vat_rates = seed.VAT_RATES
        self.oauth = OAuth(client_id, client_secret, self.clock)
        for code, description in seed.PRICE_LISTS:
            self.state.put(
                "pricelists",
                code,
                {"@url": f"https://api.fortnox.se/3/pricelists/{code}", "Code": code,
                 "Description": description, "Comments": "", "PreSelected": code == "A"},
            )  # fmt: skip
        if seed_catalog:
            for article in (*seed.HELPER_ARTICLES, *seed.CATALOG):
                self.add_article(article.number, article.description, article.price,
                                 article.vat_rate)  # fmt: skip
        self.gate = Gate(build_app(self.state, self.vat_rates), self.oauth, rate_limit)
        self.serve(self.gate)

    def adapter_config(self, base_url: str) -> dict[str, Any]:
        """A raw ``[connection.erp]`` table: inline test credentials and a refresh token from
        a fresh consent (each call consents anew, as a merchant reconnecting would: a
        refresh token works once)."""
        return {
            "kind": "fortnox",
            "base_url": base_url,
            "token_url": base_url.rstrip("/") + TOKEN_PATH,
            "client_id": self.oauth.client_id,
            "client_secret": self.oauth.client_secret,
            "refresh_token": self.oauth.consent(),
        }

    # --- control surface -------------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request that reached the simulator, as (method, path), oldest first."""
        return self.gate.requests

    def set_rate_limit(self, rate_limit: tuple[int, float] | None) -> None:
        self.gate.rate_limit = rate_limit
        self.gate.starts.clear()

    def add_article(self, sku: str, name: str, price: Decimal, vat_rate: Decimal) -> None:
        """Create or replace an article (as a person in Fortnox would)."""
        body = {"Description": name[:200] or sku, "SalesPrice": price, "VAT": vat_rate}
        if self.state.get("articles", sku) is None:
            create_article(self.state, {"ArticleNumber": sku, **body}, self.vat_rates)
        else:
            update_article(self.state, sku, body, self.vat_rates)

    def remove_article(self, sku: str) -> None:
        self.state.table("articles").pop(sku, None)

    def article(self, sku: str) -> dict[str, Any] | None:
        return self.state.get("articles", sku)

    def set_article(self, sku: str, **fields: Any) -> None:
        """Change article fields (wire names, e.g. ``SalesPrice=``); its lastmodified moves."""
        update_article(self.state, sku, fields, self.vat_rates)

    def set_stock(self, sku: str, quantity: Decimal, point: str = "") -> None:
        """Set the article's ``QuantityInStock`` (and, with ``point``, the warehouse module's
        stock balance at that stock point)."""
        body = {"QuantityInStock": quantity, "StockGoods": True}
        update_article(self.state, sku, body, self.vat_rates)
        if point:
            self.state.stock[(sku, point)] = (Decimal(quantity), Decimal(quantity))

    def add_customer(self, **fields: Any) -> str:
        """Create a customer directly (wire names; ``Name`` defaults); returns its number."""
        return str(create_customer(self.state, {"Name": "Kund", **fields})["CustomerNumber"])

    def customers(self) -> list[dict[str, Any]]:
        """The stored customers, with ``email`` also in lowercase (for shared test helpers)."""
        return [{**c, "email": c.get("Email", "")} for c in self.state.table("customers").values()]

    def invoice(self, number: str) -> dict[str, Any] | None:
        return self.state.get("invoices", number)

    def order(self, number: str) -> dict[str, Any] | None:
        return self.state.get("orders", number)

    def documents(self) -> list[SimulatedDocument]:
        """Every invoice and order."""
        return [
            _simulated(record, kind == "invoices")
            for kind in ("invoices", "orders")
            for record in self.state.table(kind).values()
        ]

    def documents_with_reference(self, reference: str) -> list[SimulatedDocument]:
        return [d for d in self.documents() if d.reference == reference]

    def order_event(self, reference: str, event: OrderEvent) -> None:
        """Do in Fortnox what makes ``event`` happen (see :mod:`.events`)."""
        apply_event(self.state, reference, event)


def _simulated(record: dict[str, Any], invoice: bool) -> SimulatedDocument:
    rows = record["InvoiceRows" if invoice else "OrderRows"]
    vat_by_rate: dict[Decimal, Decimal] = {}
    for row in rows:
        rate = Decimal(row["VAT"])
        amount = (row["Total"] * rate / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        vat_by_rate[rate] = vat_by_rate.get(rate, Decimal(0)) + amount
    return SimulatedDocument(
        number=record["DocumentNumber"],
        reference=record.get("ExternalInvoiceReference1", ""),
        customer_number=record["CustomerNumber"],
        net=record["Net"] + record["Freight"] + record["AdministrationFee"],
        vat=record["TotalVAT"],
        gross=record["Total"],
        vat_by_rate=vat_by_rate,
        booked=bool(record.get("Booked", False)),
    )


if TYPE_CHECKING:  # mypy proves the control surface matches the shared protocols

    def _conforms(simulator: FortnoxSimulator) -> ErpSimulator:
        return simulator

    def _reports_status(simulator: FortnoxSimulator) -> StatusErpSimulator:
        return simulator
