"""The Specter simulator: an ASGI app over in-memory state, with faults and a control surface.

It speaks the modelled wire format (see the adapter's ``brygga_specter/wire.py`` for the list of
assumptions; this package keeps its own copy of the shapes and never imports the adapter).
Specter's server-side customer matching (e-mail first, then OrgNo, with the ignore switches,
§3.2) happens on ``POST /customers``; ``ExternalOrderNo`` is *not* unique (assumption 7), so a
duplicate send makes a second document, which tests count.
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
from brygga_specter.simulator import seed
from brygga_specter.simulator.http import Gate, build_app
from brygga_specter.simulator.state import SimState, Stored

__all__ = ["SpecterSimulator"]

API_USER_KEY = "sim-specter-api-user-key"
INTEGRATION_KEY = "sim-specter-integration-key"
SBM_ID = 4711


class SpecterSimulator(FaultWrapped):
    """The Specter simulator and its control surface (``brygga.testing.ErpSimulator``)."""

    kind = "specter"

    def __init__(
        self,
        *,
        seed_catalog: bool = True,
        faults: FaultInjector | None = None,
        clock: Clock | None = None,
        api_user_key: str = API_USER_KEY,
        integration_key: str = INTEGRATION_KEY,
        sbm_id: int = SBM_ID,
    ) -> None:
        self.faults = faults if faults is not None else FaultInjector()
        self.state = SimState(clock=clock or SystemClock())
        self.api_user_key, self.integration_key, self.sbm_id = api_user_key, integration_key, sbm_id
        if seed_catalog:
            for article in (*seed.FEE_ARTICLES, *seed.CATALOG):
                self.add_article(article.sku, article.name, article.price, article.vat_rate)
            for product, sku, variant, price in seed.VARIANTS:
                self.add_variant(product, sku, variant, price)
        self.gate = Gate(
            build_app(self.state),
            {"ApiUserKey": api_user_key, "IntegrationKey": integration_key, "SbmId": str(sbm_id)},
        )
        self.serve(self.gate)

    def adapter_config(self, base_url: str) -> dict[str, Any]:
        """A raw ``[connection.erp]`` table for this simulator (inline test keys)."""
        return {
            "kind": "specter",
            "base_url": base_url,
            "sbm_id": self.sbm_id,
            "api_user_key": self.api_user_key,
            "integration_key": self.integration_key,
        }

    def set_keys(
        self, *, api_user_key: str | None = None, integration_key: str | None = None
    ) -> None:
        """Change the keys Specter accepts, as an administrator who renews the API user's
        keys does: requests with the old ones are answered 401 from now on."""
        self.api_user_key = api_user_key or self.api_user_key
        self.integration_key = integration_key or self.integration_key
        self.gate.credentials = {
            k.lower().encode(): v.encode()
            for k, v in (
                ("ApiUserKey", self.api_user_key),
                ("IntegrationKey", self.integration_key),
                ("SbmId", str(self.sbm_id)),
            )
        }

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request that reached the simulator, as (method, path), oldest first."""
        return self.gate.requests

    # --- catalog ---------------------------------------------------------------------------

    def add_article(self, sku: str, name: str, price: Decimal, vat_rate: Decimal) -> None:
        """Create or replace an item (no variant structure)."""
        self.state.put_item(
            sku, Description=name, SalesPriceExVat=Decimal(price), VatPercentage=Decimal(vat_rate)
        )

    def add_variant(self, product: str, sku: str, variant: str, price: Decimal) -> None:
        """An item that is a variant of ``product`` (created when missing, 25 % VAT)."""
        if product not in self.state.items:
            self.add_article(product, product.title(), price, Decimal(25))
        parent = self.state.items[product]
        self.state.put_item(
            sku,
            Description=f"{parent['Description']} {variant}",
            ParentItemCode=product,
            VariantName=variant,
            SalesPriceExVat=Decimal(price),
            VatPercentage=parent["VatPercentage"],
        )

    def remove_article(self, sku: str) -> None:
        self.state.items.pop(sku, None)

    def item(self, sku: str) -> dict[str, Any] | None:
        return self.state.items.get(sku)

    def set_item(self, sku: str, **fields: Any) -> None:
        """Change item fields (wire names) as a person in Specter would; ``Modified`` moves."""
        self.state.put_item(sku, **fields)

    def set_price(self, sku: str, price: Decimal, campaign: Decimal | None = None) -> None:
        self.state.put_item(sku, SalesPriceExVat=Decimal(price), CampaignPriceExVat=campaign)

    def set_list_price(
        self, sku: str, price_list: str, price: Decimal, currency: str = "SEK"
    ) -> None:
        """Set the item's price in ``price_list``; the item's ``Modified`` moves."""
        lists = [p for p in self.state.items[sku]["PriceLists"] if p["PriceListId"] != price_list]
        lists.append({"PriceListId": price_list, "Currency": currency, "Price": Decimal(price)})
        self.state.put_item(sku, PriceLists=lists)

    def set_stock(self, sku: str, quantity: Decimal, site: str = "1") -> None:
        """A stock change (a sale in Specter, a delivery in): logged for the adapter's poll,
        as the stock-change callback would announce it."""
        self.state.set_stock(sku, Decimal(quantity), site)

    # --- customers and documents -----------------------------------------------------------

    def customers(self) -> list[dict[str, Any]]:
        """The stored customers, wire-shaped; ``email`` added for the shared tests."""
        return [{**c, "email": c.get("EmailAddress")} for c in self.state.customers.values()]

    def add_customer(self, **fields: Any) -> str:
        return str(self.state.new_customer(fields)["CustomerId"])

    def documents(self) -> list[SimulatedDocument]:
        return [d.simulated() for d in self.state.documents()]

    def documents_with_reference(self, reference: str) -> list[SimulatedDocument]:
        return [d for d in self.documents() if d.reference == reference]

    def stored(self, reference: str) -> list[Stored]:
        return [d for d in self.state.documents() if d.data["ExternalOrderNo"] == reference]

    def order_event(self, reference: str, event: OrderEvent) -> None:
        """Do in Specter what makes ``event`` happen, as a person would. Orders: deliver the
        first row (``partially_delivered``), every row with a tracking number
        (``delivered``), invoice (``invoiced``), cancel a registered one (``cancelled``).
        Invoices: book (``invoiced``), book and pay in full (``paid``), cancel a preliminary
        one (``cancelled``). ValueError for anything else."""
        documents = self.stored(reference)
        if not documents:
            raise ValueError(f"no document with ExternalOrderNo {reference!r}")
        for document in documents:
            _apply(document, event, self.state.next_invoice_no)


def _apply(document: Stored, event: OrderEvent, invoice_no: Any) -> None:
    data = document.data
    if document.kind == "invoice":
        if event is OrderEvent.INVOICED:
            data["Status"] = "Booked"
        elif event is OrderEvent.PAID:
            data.update(Status="Booked", RemainingAmount=Decimal(0))
        elif event is OrderEvent.CANCELLED and data["Status"] == "Preliminary":
            data["Status"] = "Cancelled"
        else:
            raise ValueError(f"an invoice in state {data['Status']} cannot be {event.value}")
        return
    rows = data["Rows"]
    if event is OrderEvent.PARTIALLY_DELIVERED and len(rows) > 1:
        rows[0]["DeliveredQuantity"] = rows[0]["OrderedQuantity"]
        data["Status"] = "PartlyDelivered"
    elif event is OrderEvent.DELIVERED:
        for row in rows:
            row["DeliveredQuantity"] = row["OrderedQuantity"]
        data.update(Status="Delivered", TrackingNo="SIM123456789SE", DeliveryMethod="PostNord")
    elif event is OrderEvent.INVOICED:
        data.update(Status="Invoiced", InvoiceNo=invoice_no())
    elif event is OrderEvent.CANCELLED and data["Status"] == "Registered":
        data["Status"] = "Cancelled"
    else:
        raise ValueError(f"an order in state {data['Status']} cannot be {event.value}")


if TYPE_CHECKING:  # mypy proves the control surface matches the shared protocols

    def _conforms(simulator: SpecterSimulator) -> ErpSimulator:
        return simulator

    def _reports_status(simulator: SpecterSimulator) -> StatusErpSimulator:
        return simulator
