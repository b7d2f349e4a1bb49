"""A Visma e-conomic (legacy REST) simulator: an ASGI app over in-memory state, with faults.

What it speaks: the two token headers (401 with the error shape when missing or wrong),
``skippages``/``pagesize`` paging with a ``pagination`` object of full URLs, the ``filter=``
language with its escapes, annotated 400 validation errors, customers, products (custom
self-link encoding), draft and booked invoices, draft and sent orders, and reference data.

Modelled rather than documented (choices made where the reference says [unknown]/[inferred]):

- ``nextPage`` is present on every page but the last (the docs only promise navigation links).
- ``$and:`` binds tighter than ``$or:``; unescaped ``( , [ ] $`` in a value and ``*`` outside
  ``$like:`` are 400s; comparing a number property with a non-number never matches.
- A ``pagesize`` above ``maxPageSizeAllowed`` is a 400 (the docs only name the maximum).
- VAT follows the documented chain: product → ``productGroup`` →
  ``/product-groups/{n}/sales-accounts`` (one row per ``salesVatZone``) → ``/accounts/{n}``
  ``vatAccount.vatCode`` → ``/vat-accounts/{code}`` ``ratePercentage``. A missing link (no
  sales account for the recipient's zone, an account without a VAT code) charges no VAT.
  Seeded: groups 1-4 book domestic sales on accounts 3001-3004 (25/12/6/0 %), EU sales on
  3108 and sales abroad on 3105 (both 0 %). Wire helpers are the simulator's own
  (:mod:`brygga_economic.simulator.wire`), never the adapter's.
- Error codes E04500, E04730, E04740 and E06000 are documented; E00100 (required), E00110
  (null), E00120 (bad value), E00130 (too long), E00140 (duplicate), E00500 (401) and E00429
  (429) are made up. A missing ``unitNetPrice`` takes the product's ``salesPrice`` and a
  missing line ``description`` the product's name.
- Order status (``order_event``, :mod:`brygga_economic.simulator.events`): booking, full
  payment (``remainder`` 0, shown by ``/invoices/paid`` and ``/invoices/unpaid``), deleting
  drafts (``DELETE /invoices/drafts/{n}`` answers the documented message; ``DELETE
  /orders/drafts|sent/{n}`` answers 204), and upgrading orders to ``/orders/archived`` (with
  a new draft invoice). ``$in:`` works on the number properties, as on any numeric one.
- Booked invoice numbers start at 10001 (draft numbers at 1) so a mix-up shows. Booking
  recomputes VAT from the current product groups. POST ``/orders/sent`` with the
  ``orderNumber`` of a draft moves that draft; without one it creates the order as sent.
- The rate limit (off by default) is a sliding window per agreement answering 429 with
  ``Retry-After`` in whole seconds. The real token bucket's size is [unknown].
- Products: ``lastUpdated`` (whole seconds, UTC, ``Z``) moves on every write and on stock
  changes; ``filter=`` compares ISO-8601 dates and instants as points in time; ``sort=`` works
  on the products collection (case-insensitive, ``-`` descending, ``~`` alphabetical, 400 on a
  property that is not sortable). With ``inventory_module=True`` product groups say
  ``inventoryEnabled`` and their products carry the read-only ``inventory`` object
  (``available`` = ``inStock`` - ``orderedByCustomers``); a PUT's ``inventory`` is ignored.
  With the module on, creating orders (POST ``/orders/drafts``, ``/orders/sent``) is a 400,
  as documented ("not supported for agreements with the inventory module"); reads still work.
- Reference data (layouts 19/21, payment terms 1-4, VAT zones 1-3, customer groups 1-4,
  product groups 1-4 with their sales accounts and VAT accounts, units, SEK/EUR/NOK/DKK) is
  always there, since no agreement is without it; ``seed_catalog`` adds the fee articles and
  the shared catalog.
"""

from __future__ import annotations

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
from brygga_economic.simulator import seed
from brygga_economic.simulator.documents import Documents
from brygga_economic.simulator.errors import Annotations
from brygga_economic.simulator.events import apply_event
from brygga_economic.simulator.gate import Gate
from brygga_economic.simulator.routes import build_app
from brygga_economic.simulator.state import SimState

__all__ = ["EconomicSimulator"]

APP_SECRET_TOKEN = "sim-app-secret-token"
AGREEMENT_GRANT_TOKEN = "sim-agreement-grant-token"


class EconomicSimulator(FaultWrapped):
    """The e-conomic simulator and its control surface (``brygga.testing.ErpSimulator``).

    The instance is itself an ASGI app (the same as :attr:`app`, faults included).
    """

    kind = "economic"

    def __init__(
        self,
        *,
        seed_catalog: bool = True,
        rate_limit: tuple[int, float] | None = None,
        page_size_max: int = 1000,
        faults: FaultInjector | None = None,
        clock: Clock | None = None,
        app_secret_token: str = APP_SECRET_TOKEN,
        agreement_grant_token: str = AGREEMENT_GRANT_TOKEN,
        inventory_module: bool = False,
    ) -> None:
        self.faults = faults if faults is not None else FaultInjector()
        self.state = SimState(clock=clock or SystemClock())
        self.state.seed_reference_data()
        self.docs = Documents(self.state)
        self.app_secret_token = app_secret_token
        self.agreement_grant_token = agreement_grant_token
        if seed_catalog:
            for article in (*seed.FEE_ARTICLES, *seed.CATALOG):
                self.add_article(article.sku, article.name, article.price, article.vat_rate)
        if inventory_module:
            self.state.set_inventory_module(True)
        self.gate = Gate(
            build_app(self.state, self.docs, page_size_max=page_size_max),
            self.state,
            app_secret_token=app_secret_token,
            agreement_grant_token=agreement_grant_token,
            rate_limit=rate_limit,
        )
        self.serve(self.gate)

    def adapter_config(self, base_url: str) -> dict[str, Any]:
        """A raw ``[connection.erp]`` table for this simulator (inline test tokens)."""
        return {
            "kind": "economic",
            "base_url": base_url,
            "app_secret_token": self.app_secret_token,
            "agreement_grant_token": self.agreement_grant_token,
        }

    # --- control surface -------------------------------------------------------------------

    def add_article(self, sku: str, name: str, price: Decimal, vat_rate: Decimal) -> None:
        """Create or replace an article, in a product group with this VAT rate."""
        self.state.add_article(sku, name, price, vat_rate)

    def remove_article(self, sku: str) -> None:
        self.state.products.pop(sku, None)
        self.state.currency_prices.pop(sku, None)

    # --- catalog control surface (products, prices, stock) ---------------------------------

    def product(self, sku: str) -> dict[str, Any] | None:
        """The stored product (wire-shaped dict, relative links), or None."""
        return self.state.products.get(sku)

    def set_product(self, sku: str, **fields: Any) -> None:
        """Change product fields (wire names, e.g. ``name=``, ``barred=True``) as a person in
        e-conomic would; ``lastUpdated`` moves."""
        self.state.update_product(sku, **fields)

    def set_price(self, sku: str, price: Decimal) -> None:
        """Set the product's ``salesPrice``; ``lastUpdated`` moves."""
        self.state.update_product(sku, salesPrice=Decimal(price))

    def set_currency_price(self, sku: str, currency: str, price: Decimal | None) -> None:
        """Give the product a currency-specific sales price in ``currency`` (None: remove it),
        as a person in e-conomic would."""
        prices = self.state.currency_prices.setdefault(sku, {})
        if price is None:
            prices.pop(currency, None)
        else:
            prices[currency] = Decimal(price)

    def set_stock(self, sku: str, quantity: Decimal, ordered: Decimal = Decimal(0)) -> None:
        """Set what is in stock (``inventory.inStock``) and ordered by customers, so that
        ``inventory.available`` = ``quantity`` - ``ordered``; ``lastUpdated`` moves. Shown only
        while the inventory module is on (:meth:`set_inventory_module`)."""
        self.state.set_stock(sku, Decimal(quantity), Decimal(ordered))

    def set_inventory_module(self, on: bool) -> None:
        """Give the agreement the inventory module, or take it away."""
        self.state.set_inventory_module(on)

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request that reached the simulator, as (method, path), oldest first."""
        return self.gate.requests

    def set_rate_limit(self, rate_limit: tuple[int, float] | None) -> None:
        self.gate.rate_limit = rate_limit
        self.gate.starts.clear()

    def documents(self) -> list[SimulatedDocument]:
        """Every draft and booked invoice and every draft, sent and archived order."""
        return [document.simulated() for document in self.docs.all()]

    def documents_with_reference(self, reference: str) -> list[SimulatedDocument]:
        return [d for d in self.documents() if d.reference == reference]

    # --- order status control surface (brygga.testing.StatusErpSimulator) ------------------

    def order_event(self, reference: str, event: OrderEvent) -> None:
        """Do in e-conomic what makes ``event`` happen to the documents with ``reference``,
        as a person would: ``invoiced`` books the draft invoice (an order: registers it as
        sent if needed, archives it and creates its draft invoice); ``paid`` registers full
        payment (``remainder`` 0), booking a draft first; ``cancelled`` deletes the draft
        invoice or the draft/sent order. ValueError for a booked invoice or archived order
        (``cancelled``), an order without an invoice (``paid``), ``delivered`` and
        ``partially_delivered`` (e-conomic has no delivered state), and an unknown
        reference. See :mod:`brygga_economic.simulator.events`."""
        apply_event(self.docs, reference, event)

    def customers(self) -> list[dict[str, Any]]:
        """The stored customers (wire-shaped dicts, relative links)."""
        return [self.state.customers[n] for n in sorted(self.state.customers)]

    def add_customer(self, **fields: Any) -> int:
        """Create a customer directly (defaults for required fields); returns its number."""
        body = {
            "currency": "SEK",
            "customerGroup": {"customerGroupNumber": 1},
            "paymentTerms": {"paymentTermsNumber": 1},
            "vatZone": {"vatZoneNumber": 1},
            **fields,
        }
        return int(self.state.create_customer(body, Annotations())["customerNumber"])


if TYPE_CHECKING:  # mypy proves the control surface matches the shared protocol

    def _conforms(simulator: EconomicSimulator) -> ErpSimulator:
        return simulator

    def _reports_status(simulator: EconomicSimulator) -> StatusErpSimulator:
        return simulator
