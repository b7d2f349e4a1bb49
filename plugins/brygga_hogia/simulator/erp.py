"""The Hogia Smart simulator: an ASGI app over in-memory state, with faults and a control surface.

It speaks the modelled wire format (the adapter's ``brygga_hogia/wire.py`` lists the guesses;
this package keeps its own copy and never imports the adapter). OAuth2 client credentials at
``/connect/token`` (§4.2 [H3]); the API under ``/{organization}/``. The API database lags:
every change (an article edited, a POS sale) lands in ``/changes`` ``lag`` seconds after it
happened (§4.1 [H1]). Invoices can be looked up directly by reference (assumption 4).
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
from brygga_hogia.simulator import seed
from brygga_hogia.simulator.http import TOKEN_PATH, Gate, build_app
from brygga_hogia.simulator.state import SimState, reference_of

__all__ = ["HogiaSimulator"]

CLIENT_ID = "sim-hogia-client"
CLIENT_SECRET = "sim-hogia-client-secret"
ORGANIZATION = "5f0c8a2e-1b3d-4c5e-9f70-123456789abc"


class HogiaSimulator(FaultWrapped):
    """The Hogia Smart simulator and its control surface (``brygga.testing.ErpSimulator``)."""

    kind = "hogia"

    def __init__(
        self,
        *,
        seed_catalog: bool = True,
        lag: float = 60.0,
        faults: FaultInjector | None = None,
        clock: Clock | None = None,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        organization: str = ORGANIZATION,
    ) -> None:
        self.faults = faults if faults is not None else FaultInjector()
        self.state = SimState(clock=clock or SystemClock(), lag=lag)
        self.client_id, self.client_secret, self.organization = (
            client_id,
            client_secret,
            organization,
        )
        if seed_catalog:
            for article in (*seed.HELPERS, *seed.CATALOG):
                self.add_article(article.sku, article.name, article.price, article.vat_rate)
        self.gate = Gate(
            build_app(self.state),
            self.state,
            client_id=client_id,
            client_secret=client_secret,
            organization=organization,
        )
        self.serve(self.gate)

    def adapter_config(self, base_url: str) -> dict[str, Any]:
        """A raw ``[connection.erp]`` table for this simulator (inline test credentials)."""
        return {
            "kind": "hogia",
            "base_url": base_url,
            "token_url": base_url.rstrip("/") + TOKEN_PATH,
            "organization_id": self.organization,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }

    def set_client_secret(self, secret: str) -> None:
        """Give the API client a new secret, as Hogia's administrator does: token requests
        with the old one are refused (``invalid_client``) and the tokens already issued
        stop working (answered 401)."""
        self.client_secret = self.gate.client_secret = secret
        self.revoke_tokens()

    def revoke_tokens(self) -> None:
        """Forget every issued access token: API requests with one are answered 401."""
        self.gate.tokens.clear()

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request that reached the simulator, as (method, path), oldest first."""
        return self.gate.requests

    # --- articles and stock ----------------------------------------------------------------

    def add_article(self, sku: str, name: str, price: Decimal, vat_rate: Decimal) -> None:
        """Create or replace an article (logged to the API database after the lag)."""
        self.state.put_article(sku, name=name, price=Decimal(price), vatPercent=Decimal(vat_rate))

    def remove_article(self, sku: str) -> None:
        self.state.articles.pop(sku, None)

    def article(self, sku: str) -> dict[str, Any] | None:
        return self.state.articles.get(sku)

    def set_article(self, sku: str, **fields: Any) -> None:
        """Change article fields (wire names, e.g. ``sendToWebshop=False``) as a person would."""
        self.state.put_article(sku, **fields)

    def set_price(self, sku: str, price: Decimal, campaign: Decimal | None = None) -> None:
        self.state.put_article(sku, price=Decimal(price), campaignPrice=campaign)

    def set_stock(self, sku: str, quantity: Decimal, *, pos: bool = True) -> None:
        """A stock change, by default a sale in Hogia's POS (§4.1 [H1])."""
        self.state.set_stock(sku, Decimal(quantity), "pos" if pos else "erp")

    def set_lag(self, seconds: float) -> None:
        """How long later future changes land in the API database."""
        self.state.lag = seconds

    # --- customers and invoices ------------------------------------------------------------

    def customers(self) -> list[dict[str, Any]]:
        """The stored contacts, wire-shaped; ``email`` added for the shared tests."""
        return [{**c, "email": c.get("emailAddress")} for c in self.state.contacts.values()]

    def add_customer(self, **fields: Any) -> str:
        return str(self.state.new_contact(fields)["number"])

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        return self.state.invoices[invoice_id]

    def documents(self) -> list[SimulatedDocument]:
        return [self.state.simulated(i) for i in self.state.invoices.values()]

    def documents_with_reference(self, reference: str) -> list[SimulatedDocument]:
        return [d for d in self.documents() if d.reference == reference]

    def order_event(self, reference: str, event: OrderEvent) -> None:
        """Do in Hogia Smart what makes ``event`` happen to the invoices with ``reference``:
        ``invoiced`` bills it, ``paid`` bills it and registers full payment, ``cancelled``
        cancels an unbilled one. ValueError otherwise (Hogia Smart has no delivery state)."""
        invoices = [i for i in self.state.invoices.values() if reference_of(i) == reference]
        if not invoices:
            raise ValueError(f"no invoice with reference {reference!r}")
        for invoice in invoices:
            if event is OrderEvent.INVOICED:
                self.state.bill(invoice)
            elif event is OrderEvent.PAID:
                self.state.bill(invoice)
                invoice.update(isCustomerPaid=True, amountLeftToPay=Decimal(0))
            elif event is OrderEvent.CANCELLED and not invoice["isBilled"]:
                invoice.update(isCanceled=True, customerInvoiceState="Canceled")
            else:
                raise ValueError(f"Hogia Smart cannot make {event.value} happen to this invoice")


if TYPE_CHECKING:  # mypy proves the control surface matches the shared protocols

    def _conforms(simulator: HogiaSimulator) -> ErpSimulator:
        return simulator

    def _reports_status(simulator: HogiaSimulator) -> StatusErpSimulator:
        return simulator
